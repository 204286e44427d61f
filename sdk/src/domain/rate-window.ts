/**
 * Rate-limit window math, pure (no I/O). Windows are aligned to epoch time:
 * `[k·window, (k+1)·window)`.
 *
 * - fixed: a start is allowed while the current window's count is below `limit`;
 * - sliding: a start at `elapsed` ms into the window is allowed while
 *   `count + 1 + prev × (1 − elapsed/window) ≤ limit`, i.e. `count < budget` with
 *   `budget = limit − ⌈prev × (1 − elapsed/window)⌉` (rounding the carried-over share
 *   up keeps the sum at or under `limit` at every start).
 */

/** What a rate computation needs of a rate limit. */
export interface RateRule {
  readonly kind: "fixed" | "sliding";
  readonly limit: number;
  readonly windowMs: number;
}

/** Start of the window containing `nowMs`. */
export function windowStart(nowMs: number, windowMs: number): number {
  return Math.floor(nowMs / windowMs) * windowMs;
}

/** Most starts the current window may have counted at `nowMs`, given the previous window's final count. */
export function rateBudget(rule: RateRule, nowMs: number, prevCount: number): number {
  if (rule.kind === "fixed") return rule.limit;
  const elapsed = nowMs - windowStart(nowMs, rule.windowMs);
  const carried = prevCount * (1 - elapsed / rule.windowMs);
  // A tiny tolerance: floating error must not turn an exact 3.0 into a ceiling of 4.
  return rule.limit - Math.ceil(carried - 1e-9);
}

/**
 * The earliest time at or after `nowMs` at which one more start fits, given the current
 * window's `count` and the previous window's `prevCount`, rounded up to a tenth of the
 * window (so the waiters of one limit share a few wake-up times per window).
 */
export function nextPermitAt(rule: RateRule, nowMs: number, count: number, prevCount: number): number {
  const w = rule.windowMs;
  const start = windowStart(nowMs, w);
  const round = (t: number) => Math.max(nowMs, Math.ceil(t / (w / 10)) * (w / 10));
  if (count < rateBudget(rule, nowMs, prevCount)) return nowMs;
  if (rule.kind === "fixed") return start + w;
  // Later in this window, as the previous window's share decays.
  const room = rule.limit - count - 1;
  if (room >= 0 && prevCount > 0) {
    const elapsed = w * (1 - room / prevCount);
    if (elapsed < w) return round(start + elapsed);
  }
  // In the next window: this window's count becomes the carried-over share.
  const nextElapsed = count > 0 ? Math.max(0, w * (1 - (rule.limit - 1) / count)) : 0;
  return round(start + w + nextElapsed);
}
