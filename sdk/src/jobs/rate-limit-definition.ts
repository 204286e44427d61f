/**
 * A named rate limit (`app.addRateLimit`): at most `limit` starts per `window`, shared by
 * every job (`withRateLimit`) and queue (`rateLimit`) that names it. Enforced when runs
 * are claimed (`limits/rate-permits.ts`, window math in `domain/rate-window.ts`).
 */
import { type Duration, toMillis } from "../domain/duration.js";
import { assertKnownKeys } from "../domain/known-keys.js";
import { ValidationError } from "../errors.js";
import { assertLimit, maxRateLimit } from "./limit-options.js";
import { assertName } from "./names.js";

/**
 * - `fixed`: at most `limit` starts in each aligned window (`[k·window, (k+1)·window)` of epoch time).
 * - `sliding`: at every start, the previous window's count × (1 − elapsed/window) plus
 *   the current window's count stays ≤ `limit`, so a full window is not followed by a
 *   second burst right after the boundary.
 */
export type RateLimitKind = "fixed" | "sliding";

/** Options of `app.addRateLimit`. */
export interface RateLimitOptions {
  readonly kind: RateLimitKind;
  /** Starts per window: an integer in 1..100000. */
  readonly limit: number;
  /** The window: ms (rounded to whole ms) or `"2s"`, `"1m"`; from 1 s to 1 day (whole seconds are not required). */
  readonly window: Duration;
}

/** A validated rate limit. */
export interface RateLimitDefinition {
  readonly name: string;
  readonly kind: RateLimitKind;
  readonly limit: number;
  readonly windowMs: number;
}

/** Shortest window, in ms: shorter ones would wake waiters more often than a lane message can be held. */
export const minRateWindowMs = 1000;
/**
 * Longest window, in ms (1 day): a window's counter lives two windows, and a limit over
 * days is a quota, better kept by the job itself than by holding runs Pending that long.
 */
export const maxRateWindowMs = 24 * 3600_000;

const optionKeys = ["kind", "limit", "window"] as const;

/** Validates `addRateLimit`'s input. @throws {@link ValidationError} naming the option. */
export function rateLimitDefinition(name: string, options: RateLimitOptions): RateLimitDefinition {
  assertName(name, "rate limit name");
  const path = `rate limit "${name}"`;
  if (typeof options !== "object" || options === null)
    throw new ValidationError(path, "options are required");
  assertKnownKeys(options, optionKeys, path);
  if (options.kind !== "fixed" && options.kind !== "sliding")
    throw new ValidationError(`${path}.kind`, `${JSON.stringify(options.kind)} is not "fixed" or "sliding"`);
  assertLimit(options.limit, `${path}.limit`, maxRateLimit);
  const windowMs = toMillis(options.window, `${path}.window`);
  if (windowMs < minRateWindowMs)
    throw new ValidationError(`${path}.window`, `${JSON.stringify(options.window)} is under 1 s`);
  if (windowMs > maxRateWindowMs)
    throw new ValidationError(`${path}.window`, `${JSON.stringify(options.window)} is over 1 day`);
  return { name, kind: options.kind, limit: options.limit, windowMs };
}
