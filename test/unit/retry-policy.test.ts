import { describe, expect, it } from "vitest";
import {
  backoffMillis,
  hasRetriesLeft,
  noRetries,
  type ResolvedRetryPolicy,
  type RetryPolicy,
  resolveRetryPolicy,
} from "../../sdk/src/domain/retry-policy.js";
import { ValidationError } from "../../sdk/src/errors.js";

const lowest = () => 0;
const middle = () => 0.5;
const highest = () => 1;

function policy(overrides: Partial<ResolvedRetryPolicy> = {}): ResolvedRetryPolicy {
  return {
    maxRetries: 3,
    backoff: "fixed",
    initialDelayMs: 5_000,
    maxDelayMs: 3_600_000,
    jitter: 0,
    ...overrides,
  };
}

describe("resolveRetryPolicy", () => {
  it("defaults to no retries, fixed 5 s backoff, 1 h cap and 20% jitter", () => {
    expect(resolveRetryPolicy(0)).toEqual({
      maxRetries: 0,
      backoff: "fixed",
      initialDelayMs: 5_000,
      maxDelayMs: 3_600_000,
      jitter: 0.2,
    });
  });

  it("uses the defaults for a job without withRetry", () => {
    expect(noRetries).toEqual(resolveRetryPolicy({ maxRetries: 0 }));
  });

  it("takes a bare number as the retry count with every other default", () => {
    expect(resolveRetryPolicy(4)).toEqual({ ...noRetries, maxRetries: 4 });
  });

  it("converts durations and keeps given fields", () => {
    expect(
      resolveRetryPolicy({
        maxRetries: 2,
        backoff: "exponential",
        initialDelay: "1s",
        maxDelay: 30_000,
        jitter: 0,
      }),
    ).toEqual({
      maxRetries: 2,
      backoff: "exponential",
      initialDelayMs: 1_000,
      maxDelayMs: 30_000,
      jitter: 0,
    });
  });

  it.each<[string, RetryPolicy, string]>([
    ["a negative retry count", { maxRetries: -1 }, "retry.maxRetries"],
    ["a fractional retry count", { maxRetries: 1.5 }, "retry.maxRetries"],
    ["a NaN retry count", { maxRetries: Number.NaN }, "retry.maxRetries"],
    ["jitter above 1", { maxRetries: 1, jitter: 1.01 }, "retry.jitter"],
    ["negative jitter", { maxRetries: 1, jitter: -0.1 }, "retry.jitter"],
    ["NaN jitter", { maxRetries: 1, jitter: Number.NaN }, "retry.jitter"],
    ["a negative initial delay", { maxRetries: 1, initialDelay: -1 }, "retry.initialDelay"],
    ["an unparseable max delay", { maxRetries: 1, maxDelay: "later" as never }, "retry.maxDelay"],
    ["maxDelay below initialDelay", { maxRetries: 1, initialDelay: "10s", maxDelay: "9s" }, "retry.maxDelay"],
    ["maxDelay below the default initialDelay", { maxRetries: 1, maxDelay: "1s" }, "retry.maxDelay"],
  ])("rejects %s", (_label, input, path) => {
    // Act
    let error: unknown;
    try {
      resolveRetryPolicy(input);
    } catch (e) {
      error = e;
    }
    // Assert
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).path).toBe(path);
  });

  it("accepts jitter at both ends of 0..1 and maxDelay equal to initialDelay", () => {
    expect(resolveRetryPolicy({ maxRetries: 1, jitter: 0 }).jitter).toBe(0);
    expect(resolveRetryPolicy({ maxRetries: 1, jitter: 1 }).jitter).toBe(1);
    expect(resolveRetryPolicy({ maxRetries: 1, initialDelay: "5s", maxDelay: "5s" }).maxDelayMs).toBe(5_000);
  });
});

describe("backoffMillis", () => {
  it("waits initialDelay before every retry with fixed backoff", () => {
    const fixed = policy({ initialDelayMs: 5_000 });
    expect([1, 2, 3, 10].map((retry) => backoffMillis(fixed, retry, middle))).toEqual([
      5_000, 5_000, 5_000, 5_000,
    ]);
  });

  it("doubles exponential delays from initialDelay and caps them at maxDelay", () => {
    // Arrange
    const exponential = policy({ backoff: "exponential", initialDelayMs: 1_000, maxDelayMs: 10_000 });
    // Act
    const delays = [1, 2, 3, 4, 5, 6].map((retry) => backoffMillis(exponential, retry, middle));
    // Assert
    expect(delays).toEqual([1_000, 2_000, 4_000, 8_000, 10_000, 10_000]);
  });

  it("caps a fixed delay at maxDelay", () => {
    expect(backoffMillis(policy({ initialDelayMs: 9_000, maxDelayMs: 4_000 }), 1, middle)).toBe(4_000);
  });

  it.each([10_000, Number.MAX_SAFE_INTEGER])(
    "gives the capped delay, not Infinity or NaN, for retry %d",
    (retry) => {
      const exponential = policy({ backoff: "exponential", initialDelayMs: 1_000, maxDelayMs: 3_600_000 });
      expect(backoffMillis(exponential, retry, middle)).toBe(3_600_000);
    },
  );

  it("stays finite when initialDelay × 2^retry would pass Number.MAX_VALUE", () => {
    const huge = policy({ backoff: "exponential", initialDelayMs: 1e300, maxDelayMs: 1e300, jitter: 0.2 });
    const delay = backoffMillis(huge, 10_000, highest);
    expect(Number.isFinite(delay)).toBe(true);
    expect(delay).toBe(1e300); // the cap, which jitter never passes
  });

  it("treats retry 0 as the first retry", () => {
    const exponential = policy({ backoff: "exponential", initialDelayMs: 1_000, maxDelayMs: 10_000 });
    expect(backoffMillis(exponential, 0, middle)).toBe(1_000);
  });

  it("spreads the delay to -jitter with random 0 and +jitter with random 1", () => {
    // Arrange
    const jittered = policy({ initialDelayMs: 5_000, jitter: 0.2 });
    // Act + Assert
    expect(backoffMillis(jittered, 1, lowest)).toBe(4_000);
    expect(backoffMillis(jittered, 1, middle)).toBe(5_000);
    expect(backoffMillis(jittered, 1, highest)).toBe(6_000);
  });

  it("keeps a jittered delay at the cap within [cap × (1 − jitter), cap]", () => {
    const capped = policy({ backoff: "exponential", initialDelayMs: 1_000, maxDelayMs: 30_000, jitter: 0.5 });
    expect(backoffMillis(capped, 20, lowest)).toBe(15_000);
    expect(backoffMillis(capped, 20, middle)).toBe(22_500);
    expect(backoffMillis(capped, 20, highest)).toBe(30_000);
  });

  it("never passes maxDelay for any retry and any random draw", () => {
    const capped = policy({ backoff: "exponential", initialDelayMs: 1_000, maxDelayMs: 30_000, jitter: 0.2 });
    for (let retry = 1; retry <= 10; retry++)
      for (const r of [0, 0.25, 0.5, 0.75, 0.999]) {
        const delay = backoffMillis(capped, retry, () => r);
        expect(delay).toBeGreaterThanOrEqual(0);
        expect(delay).toBeLessThanOrEqual(30_000);
      }
  });

  it("never goes below zero with full jitter", () => {
    expect(backoffMillis(policy({ initialDelayMs: 5_000, jitter: 1 }), 1, lowest)).toBe(0);
  });

  it("rounds to whole milliseconds", () => {
    expect(backoffMillis(policy({ initialDelayMs: 1_000, jitter: 0.2 }), 1, () => 0.3333)).toBe(933);
  });
});

describe("hasRetriesLeft", () => {
  it("allows maxRetries retries: attempts 1..maxRetries may retry, attempt maxRetries + 1 may not", () => {
    const twoRetries = policy({ maxRetries: 2 });
    expect([1, 2, 3, 4].map((attempt) => hasRetriesLeft(twoRetries, attempt))).toEqual([
      true,
      true,
      false,
      false,
    ]);
  });

  it("allows no retry with the default policy", () => {
    expect(hasRetriesLeft(noRetries, 1)).toBe(false);
  });
});
