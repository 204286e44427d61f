import { describe, expect, it } from "vitest";
import { mergeDescending, queriesFor, type RunFilter } from "../../sdk/src/client/run-filter.js";
import type { RunStatus } from "../../sdk/src/domain/run.js";
import { ValidationError } from "../../sdk/src/errors.js";

function rejection(filter: RunFilter): ValidationError {
  try {
    queriesFor(filter);
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return error as ValidationError;
  }
  throw new Error("expected queriesFor to throw");
}

describe("queriesFor", () => {
  describe("index choice", () => {
    it("queries the parent index when a parent is given, filtering job and status", () => {
      // Act
      const queries = queriesFor({ parentRunId: "P1", jobName: "Add", status: "Failed" });
      // Assert
      expect(queries).toEqual([
        {
          IndexName: "byParent",
          KeyConditionExpression: "parentPk = :key",
          ExpressionAttributeValues: { ":key": "PARENT#P1", ":jobName": "Add", ":status": "Failed" },
          ExpressionAttributeNames: { "#jobName": "jobName", "#status": "status" },
          FilterExpression: "#jobName = :jobName AND #status = :status",
          ScanIndexForward: false,
          Limit: 100,
        },
      ]);
    });

    it("queries the job index when a job but no parent is given, filtering status", () => {
      const queries = queriesFor({ jobName: "Add", status: "Running" });
      expect(queries).toEqual([
        {
          IndexName: "byJob",
          KeyConditionExpression: "jobPk = :key",
          ExpressionAttributeValues: { ":key": "JOB#Add", ":status": "Running" },
          ExpressionAttributeNames: { "#status": "status" },
          FilterExpression: "#status = :status",
          ScanIndexForward: false,
          Limit: 100,
        },
      ]);
    });

    it("queries the job index without a filter expression when only the job is given", () => {
      const [query, ...rest] = queriesFor({ jobName: "Add" });
      expect(rest).toEqual([]);
      expect(query?.IndexName).toBe("byJob");
      expect(query).not.toHaveProperty("FilterExpression");
      expect(query).not.toHaveProperty("ExpressionAttributeNames");
    });

    it("queries the status index for one status when only a status is given", () => {
      const queries = queriesFor({ status: "Canceled" });
      expect(queries).toEqual([
        {
          IndexName: "byStatus",
          KeyConditionExpression: "statusPk = :key",
          ExpressionAttributeValues: { ":key": "STATUS#Canceled" },
          ScanIndexForward: false,
          Limit: 100,
        },
      ]);
    });

    it("queries all five status partitions, newest first, when nothing is given", () => {
      // Act
      const queries = queriesFor();
      // Assert
      expect(queries.map((q) => q.ExpressionAttributeValues?.[":key"])).toEqual([
        "STATUS#Pending",
        "STATUS#Running",
        "STATUS#Succeeded",
        "STATUS#Canceled",
        "STATUS#Failed",
      ]);
      expect(queries.every((q) => q.IndexName === "byStatus" && q.ScanIndexForward === false)).toBe(true);
    });
  });

  describe("date range", () => {
    const after = "2030-01-01T00:00:00.000Z";
    const before = "2030-02-01T00:00:00.000Z";

    it("bounds createdSk on both sides with BETWEEN", () => {
      const [query] = queriesFor({ jobName: "Add", createdAfter: after, createdBefore: before });
      expect(query?.KeyConditionExpression).toBe("jobPk = :key AND createdSk BETWEEN :after AND :before");
      expect(query?.ExpressionAttributeValues).toEqual({
        ":key": "JOB#Add",
        ":after": after,
        ":before": before,
      });
    });

    it("bounds createdSk from below with >= for createdAfter only", () => {
      const [query] = queriesFor({ status: "Failed", createdAfter: new Date(after) });
      expect(query?.KeyConditionExpression).toBe("statusPk = :key AND createdSk >= :after");
      expect(query?.ExpressionAttributeValues).toEqual({ ":key": "STATUS#Failed", ":after": after });
    });

    it("bounds createdSk from above with < for createdBefore only", () => {
      const [query] = queriesFor({ parentRunId: "P1", createdBefore: before });
      expect(query?.KeyConditionExpression).toBe("parentPk = :key AND createdSk < :before");
      expect(query?.ExpressionAttributeValues).toEqual({ ":key": "PARENT#P1", ":before": before });
    });

    it("normalizes dates with an offset to UTC ISO strings", () => {
      const [query] = queriesFor({ status: "Pending", createdAfter: "2030-01-01T02:00:00+02:00" });
      expect(query?.ExpressionAttributeValues?.[":after"]).toBe(after);
    });

    it("puts the same range on each of the five status queries", () => {
      const queries = queriesFor({ createdAfter: after });
      expect(queries).toHaveLength(5);
      expect(
        queries.every((q) => q.KeyConditionExpression === "statusPk = :key AND createdSk >= :after"),
      ).toBe(true);
      expect(queries.every((q) => q.ExpressionAttributeValues?.[":after"] === after)).toBe(true);
    });
  });

  describe("page size", () => {
    it.each([1, 1000])("uses a page size of %d as the query limit", (pageSize) => {
      expect(queriesFor({ pageSize }).map((q) => q.Limit)).toEqual([
        pageSize,
        pageSize,
        pageSize,
        pageSize,
        pageSize,
      ]);
    });

    it.each([0, 1001, 2.5, Number.NaN])("rejects a page size of %d", (pageSize) => {
      expect(rejection({ pageSize }).path).toBe("filter.pageSize");
    });
  });

  it("rejects an unknown status", () => {
    const error = rejection({ status: "Done" as RunStatus });
    expect(error.path).toBe("filter.status");
    expect(error.message).toBe(
      'filter.status: "Done" is not one of Pending, Running, Succeeded, Canceled, Failed',
    );
  });

  it.each<[keyof RunFilter, RunFilter]>([
    ["createdAfter", { createdAfter: "yesterday" }],
    ["createdBefore", { createdBefore: new Date(Number.NaN) }],
  ])("rejects an invalid %s", (field, filter) => {
    const error = rejection(filter);
    expect(error.path).toBe(`filter.${field}`);
    expect(error.message).toContain("is not a valid date");
  });
});

async function* from<T>(items: T[]): AsyncIterable<T> {
  for (const item of items) {
    await Promise.resolve();
    yield item;
  }
}

async function collect<T>(source: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of source) out.push(item);
  return out;
}

describe("mergeDescending", () => {
  const identity = (s: string) => s;

  it("merges descending sources into one descending sequence", async () => {
    // Arrange
    const sources = [from(["9", "5", "1"]), from(["8", "7", "2"]), from(["6", "4", "3"])];
    // Act
    const merged = await collect(mergeDescending(sources, identity));
    // Assert
    expect(merged).toEqual(["9", "8", "7", "6", "5", "4", "3", "2", "1"]);
  });

  it("orders by the key, not by the items", async () => {
    const runs = (ids: string[]) => from(ids.map((id) => ({ createdSk: id })));
    const merged = await collect(mergeDescending([runs(["b", "a"]), runs(["c"])], (r) => r.createdSk));
    expect(merged.map((r) => r.createdSk)).toEqual(["c", "b", "a"]);
  });

  it("keeps every item when keys are equal", async () => {
    const merged = await collect(mergeDescending([from(["x", "x"]), from(["x"])], identity));
    expect(merged).toEqual(["x", "x", "x"]);
  });

  it("handles empty sources and no sources", async () => {
    expect(await collect(mergeDescending([from([]), from(["b", "a"]), from([])], identity))).toEqual([
      "b",
      "a",
    ]);
    expect(await collect(mergeDescending<string>([], identity))).toEqual([]);
  });

  it("stops pulling when the consumer stops", async () => {
    // Arrange
    const pulled: string[] = [];
    async function* tracked(items: string[]) {
      for (const item of items) {
        pulled.push(item);
        yield item;
      }
    }
    // Act
    const first: string[] = [];
    for await (const item of mergeDescending([tracked(["9", "3", "1"]), tracked(["8", "7"])], identity)) {
      first.push(item);
      if (first.length === 2) break;
    }
    // Assert: each head was read, then the next item of the source that gave "9"; "7" and "1" never were
    expect(first).toEqual(["9", "8"]);
    expect(pulled).toEqual(["9", "8", "3"]);
  });
});
