/**
 * Retry policy and backoff math. Pure functions, no I/O.
 *
 * Defaults follow the reference job model (SPEC.md "Retries"): no retries unless asked;
 * fixed 5 s backoff with jitter.
 */
import { ValidationError } from "../errors.js";
import { type Duration, toMillis } from "./duration.js";
import { assertKnownKeys } from "./known-keys.js";

/** How a job retries a failed attempt. */
export interface RetryPolicy {
  /** Retries after the first attempt: n retries = n + 1 attempts. @default 0 */
  readonly maxRetries: number;
  /** `fixed`: every delay is `initialDelay`. `exponential`: `initialDelay * 2^(retry-1)`. @default "fixed" */
  readonly backoff?: "fixed" | "exponential";
  /** First delay. @default "5s" */
  readonly initialDelay?: Duration;
  /** Upper bound of any delay, jitter included. @default "1h" */
  readonly maxDelay?: Duration;
  /**
   * Randomize each delay to within ±`jitter` of its value (0..1), never past `maxDelay`
   * (a delay at the cap spreads below it only), so retries of many runs that failed
   * together spread out. @default 0.2
   */
  readonly jitter?: number;
}

/** A retry policy with every default applied and durations in milliseconds. */
export interface ResolvedRetryPolicy {
  readonly maxRetries: number;
  readonly backoff: "fixed" | "exponential";
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  readonly jitter: number;
}

const retryPolicyKeys = [
  "maxRetries",
  "backoff",
  "initialDelay",
  "maxDelay",
  "jitter",
] as const satisfies readonly (keyof RetryPolicy)[];

/** The policy of a job that did not call `withRetry`: no retries. */
export const noRetries: ResolvedRetryPolicy = resolveRetryPolicy(0);

/**
 * Applies defaults to a policy (or a bare retry count) and validates it. Throws
 * {@link ValidationError} for a negative or fractional retry count, a jitter outside
 * 0..1, an unknown backoff, a bad duration, or a key that is not an option.
 */
export function resolveRetryPolicy(policy: number | RetryPolicy, path = "retry"): ResolvedRetryPolicy {
  const p: RetryPolicy = typeof policy === "number" ? { maxRetries: policy } : policy;
  assertKnownKeys(p, retryPolicyKeys, path);
  if (p.backoff !== undefined && p.backoff !== "fixed" && p.backoff !== "exponential") {
    throw new ValidationError(
      `${path}.backoff`,
      `${JSON.stringify(p.backoff)} is not "fixed" or "exponential"`,
    );
  }
  if (!Number.isInteger(p.maxRetries) || p.maxRetries < 0) {
    throw new ValidationError(`${path}.maxRetries`, `${p.maxRetries} is not a whole number >= 0`);
  }
  const jitter = p.jitter ?? 0.2;
  if (!(jitter >= 0 && jitter <= 1))
    throw new ValidationError(`${path}.jitter`, `${jitter} is not within 0..1`);
  const initialDelayMs = toMillis(p.initialDelay ?? "5s", `${path}.initialDelay`);
  const maxDelayMs = toMillis(p.maxDelay ?? "1h", `${path}.maxDelay`);
  if (maxDelayMs < initialDelayMs) {
    throw new ValidationError(
      `${path}.maxDelay`,
      `${maxDelayMs} ms is below initialDelay (${initialDelayMs} ms)`,
    );
  }
  return { maxRetries: p.maxRetries, backoff: p.backoff ?? "fixed", initialDelayMs, maxDelayMs, jitter };
}

/**
 * Delay before retry number `retry` (1 for the first retry), in milliseconds.
 * Never overflows: the exponent is capped before it is used. `random` is injectable for tests.
 */
export function backoffMillis(
  policy: ResolvedRetryPolicy,
  retry: number,
  random: () => number = Math.random,
): number {
  const base =
    policy.backoff === "fixed"
      ? policy.initialDelayMs
      : Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** Math.min(Math.max(retry - 1, 0), 52));
  const capped = Math.min(base, policy.maxDelayMs);
  // Within ±jitter of the capped delay, and never past the cap: a delay at the cap spreads
  // below it only, so `maxDelay` is a true upper bound.
  const lowest = capped * (1 - policy.jitter);
  const highest = Math.min(policy.maxDelayMs, capped * (1 + policy.jitter));
  return Math.max(0, Math.round(lowest + (highest - lowest) * random()));
}

/** Whether a run that just failed attempt `attempt` (1-based) may be retried. */
export function hasRetriesLeft(policy: ResolvedRetryPolicy, attempt: number): boolean {
  return attempt <= policy.maxRetries;
}
