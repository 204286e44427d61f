/**
 * Regression tests for defects found while writing the unit tests (sparse arrays and
 * symbol keys slipping through toJson, ms's own errors escaping toMillis, an inverted
 * date range reaching DynamoDB, JobResult resolving to never).
 */
import { describe, expect, expectTypeOf, it } from "vitest";
import { planListing } from "../../sdk/src/client/run-filter.js";
import { type Duration, toMillis } from "../../sdk/src/domain/duration.js";
import { toJson } from "../../sdk/src/domain/json.js";
import { ValidationError } from "../../sdk/src/errors.js";
import { JobApp } from "../../sdk/src/jobs/job-app.js";
import type { JobResult } from "../../sdk/src/jobs/job-definition.js";

describe("toJson (sdk/src/domain/json.ts)", () => {
  it("rejects a hole in a sparse array, which JSON would turn into null", () => {
    // Arrange: [1, <hole>, 3] — forEach skips the hole, JSON.stringify writes null
    const sparse = [1, 2, 3];
    delete sparse[1];
    // Act + Assert
    expect(() => toJson({ list: sparse }, "args")).toThrow(ValidationError);
    expect(() => toJson({ list: sparse }, "args")).toThrow(/^args\.list\[1\]: /);
  });

  it("rejects an array created with a length and no items", () => {
    expect(() => toJson(new Array(2), "args")).toThrow(ValidationError);
  });

  it("rejects a symbol-keyed property, which JSON would silently drop", () => {
    expect(() => toJson({ a: 1, [Symbol("secret")]: 2 }, "args")).toThrow(ValidationError);
  });
});

describe("toMillis (sdk/src/domain/duration.ts)", () => {
  it("rejects an empty string with a ValidationError naming the path", () => {
    // ms("") throws a plain Error ("val is not a non-empty string or a valid number")
    expect(() => toMillis("" as Duration, "timeout")).toThrow(ValidationError);
  });

  it("rejects null from untyped callers with a ValidationError", () => {
    expect(() => toMillis(null as unknown as Duration, "timeout")).toThrow(ValidationError);
  });
});

describe("planListing (sdk/src/client/run-filter.ts)", () => {
  it("rejects createdAfter later than createdBefore instead of building a BETWEEN DynamoDB refuses", () => {
    // DynamoDB answers the query with ValidationException: "The BETWEEN operator requires
    // upper bound to be greater than or equal to lower bound" (seen on DynamoDB Local).
    expect(() =>
      planListing({
        jobName: "Add",
        createdAfter: "2031-01-01T00:00:00Z",
        createdBefore: "2030-01-01T00:00:00Z",
      }),
    ).toThrow(ValidationError);
  });
});

describe("JobResult (sdk/src/jobs/job-definition.ts)", () => {
  it("is the job's result type (checked by tsc --noEmit: today it is never)", () => {
    const app = new JobApp();
    const add = app.addJob("Add", ({ a, b }: { a: number; b: number }) => a + b);
    const untyped = app.addJob("Five", () => 5);
    expectTypeOf<JobResult<typeof add>>().toEqualTypeOf<number>();
    expectTypeOf<JobResult<typeof untyped>>().toEqualTypeOf<number>();
    expect(add.name).toBe("Add");
  });
});
