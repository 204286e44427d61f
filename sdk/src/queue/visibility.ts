/**
 * Holding a message until its run is due, by SQS message visibility.
 *
 * SQS caps a message's visibility timeout at 12 hours (43,200 s; SQS developer guide,
 * "Amazon SQS visibility timeout"). A run due within {@link maxHoldMs} is sent at once
 * and held by the worker; one due later is not sent until the maintenance pass (or, on AWS, an
 * EventBridge Scheduler schedule) releases it.
 */

/** Longest single hold: 12 h less a minute of margin, in milliseconds. */
export const maxHoldMs = (12 * 3600 - 60) * 1000;

/** Seconds to hide a message so it reappears when its run is due (at least 1, at most {@link maxHoldMs}). */
export function holdSeconds(dueMs: number, nowMs: number): number {
  return Math.max(1, Math.ceil(Math.min(dueMs - nowMs, maxHoldMs) / 1000));
}
