/** Rules shared by every limit option (concurrency and rate limits). */
import { ValidationError } from "../errors.js";

/**
 * Most slots one concurrency limit may have: a claim reads a limit's slots in one small
 * query, and one limit key takes about 500 starts per second (docs/ARCHITECTURE.md,
 * "Limits").
 */
export const maxConcurrencyLimit = 1000;

/** Highest rate limit per window. */
export const maxRateLimit = 100_000;

/**
 * Throws {@link ValidationError} (at `path`) unless `value` is an integer in `1..max`:
 * zero, negative, fractional and non-numeric limits are refused when the app is defined.
 */
export function assertLimit(value: unknown, path: string, max: number): asserts value is number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > max) {
    const shown = typeof value === "string" ? `${JSON.stringify(value)} (a string)` : String(value);
    throw new ValidationError(path, `${shown} is not an integer in 1..${max}`);
  }
}
