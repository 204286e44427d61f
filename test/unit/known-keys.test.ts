import { describe, expect, it } from "vitest";
import { planListing } from "../../sdk/src/client/run-filter.js";
import { resolveRetryPolicy } from "../../sdk/src/domain/retry-policy.js";
import { resolveRunOptions } from "../../sdk/src/domain/run-options.js";
import { ValidationError } from "../../sdk/src/errors.js";

/** The ValidationError `call` throws. */
function refusal(call: () => unknown): ValidationError {
  try {
    call();
  } catch (error) {
    if (error instanceof ValidationError) return error;
    throw error;
  }
  throw new Error("no error was thrown");
}

describe("unknown option keys", () => {
  it.each([
    [{ priorty: 5 }, "options.priorty", "priority"],
    [{ notbefore: new Date() }, "options.notbefore", "notBefore"],
    [{ deduplicationID: "x" }, "options.deduplicationID", "deduplicationId"],
  ])("refuses run option %o naming it and the option meant", (options, path, meant) => {
    const error = refusal(() => resolveRunOptions(options as never, Date.now()));
    expect(error.path).toBe(path);
    expect(error.message).toContain(`did you mean "${meant}"?`);
  });

  it("refuses a filter key nobody reads instead of listing every run", () => {
    const error = refusal(() => planListing({ jobname: "Add" } as never));
    expect(error.path).toBe("filter.jobname");
    expect(error.message).toContain('did you mean "jobName"?');
  });

  it("refuses a misspelled retry option and an unknown backoff", () => {
    expect(
      refusal(() => resolveRetryPolicy({ maxRetries: 1, backof: "exponential" } as never)).message,
    ).toContain('retry.backof: is not an option; did you mean "backoff"?');
    expect(refusal(() => resolveRetryPolicy({ maxRetries: 1, backoff: "linear" } as never)).path).toBe(
      "retry.backoff",
    );
  });

  it("names no option when none is near, and lists the known ones", () => {
    const error = refusal(() => resolveRunOptions({ colour: "red" } as never, Date.now()));
    expect(error.message).toBe(
      "options.colour: is not an option (known: notBefore, notAfter, priority, deduplicationId)",
    );
  });

  it("says a priority given as a string is a string", () => {
    expect(refusal(() => resolveRunOptions({ priority: "5" } as never, Date.now())).message).toContain(
      '"5" (a string) is not an integer',
    );
  });

  it("accepts every known key", () => {
    expect(resolveRunOptions({ priority: 1, deduplicationId: "d" }, Date.now())).toEqual({
      priority: 1,
      deduplicationId: "d",
    });
    expect(() => planListing({ jobName: "Add", status: "Pending", pageSize: 10 })).not.toThrow();
  });
});
