/**
 * Options of a trigger, validated and normalized in one place.
 */
import { ValidationError } from "../errors.js";
import { assertKnownKeys } from "./known-keys.js";

/** When and how a run may start. All fields optional. */
export interface RunOptions {
  /**
   * Don't start before this time (a `Date`, or an ISO 8601 string with a zone). A time in
   * the past means "now". At most {@link maxScheduleAheadMs} ahead.
   */
  readonly notBefore?: Date | string;
  /**
   * Cancel the run if it has not started by this time (reason `notAfter passed`). Must
   * be in the future at trigger time and not before `notBefore`: a deadline already past
   * throws `ValidationError` and writes nothing (rather than creating a run that is
   * Canceled at once). Does not stop a run that already started. Enforced by the timer
   * at `notAfter` (within about two minutes on AWS), and always at claim time, so a late
   * run never starts; a deadline more than {@link maxScheduleAheadMs} ahead gets no timer
   * and is enforced at claim time.
   */
  readonly notAfter?: Date | string;
  /** Higher runs are claimed first. An integer in -1,000,000..1,000,000. @default the job's priority, else 0 */
  readonly priority?: number;
  /**
   * Only one non-terminal run of this job may hold this id; another trigger with it
   * throws `RunConflictError`. Freed when the holder reaches a terminal status.
   * 1..{@link maxDeduplicationIdLength} characters.
   */
  readonly deduplicationId?: string;
}

/** Options of a call that waits: an `AbortSignal` to stop it. */
export interface SignalOptions {
  readonly signal?: AbortSignal;
}

/** The keys of {@link RunOptions}. */
const runOptionKeys = ["notBefore", "notAfter", "priority", "deduplicationId"] as const;

/** Longest accepted deduplication id, in characters. */
export const maxDeduplicationIdLength = 256;

/** Furthest ahead a `notBefore` may be: 365 days, in milliseconds. */
export const maxScheduleAheadMs = 365 * 24 * 3600 * 1000;

/** Run options after validation: times as epoch milliseconds (UTC). */
export interface ResolvedRunOptions {
  readonly notBeforeMs?: number;
  readonly notAfterMs?: number;
  readonly priority?: number;
  readonly deduplicationId?: string;
}

/**
 * Validates trigger options against the clock `nowMs` (epoch ms). Throws
 * {@link ValidationError} naming the option for: an unparseable or zone-less date,
 * `notBefore` more than a year ahead, `notAfter` in the past or before `notBefore`,
 * a non-integer or out-of-range priority, an empty or oversized deduplication id, a key
 * that is not an option (a misspelling would otherwise be ignored).
 */
export function resolveRunOptions(options: RunOptions | undefined, nowMs: number): ResolvedRunOptions {
  if (options === undefined) return {};
  if (typeof options !== "object" || options === null) {
    throw new ValidationError("options", "must be an object");
  }
  assertKnownKeys(options, runOptionKeys, "options");
  const notBeforeMs = toEpochMs(options.notBefore, "options.notBefore");
  const notAfterMs = toEpochMs(options.notAfter, "options.notAfter");
  if (notBeforeMs !== undefined && notBeforeMs - nowMs > maxScheduleAheadMs) {
    throw new ValidationError("options.notBefore", `${iso(notBeforeMs)} is more than 365 days ahead`);
  }
  if (notAfterMs !== undefined && notAfterMs <= nowMs) {
    throw new ValidationError(
      "options.notAfter",
      `${iso(notAfterMs)} is already past; the run could never start`,
    );
  }
  if (notAfterMs !== undefined && notBeforeMs !== undefined && notAfterMs < notBeforeMs) {
    throw new ValidationError(
      "options.notAfter",
      `${iso(notAfterMs)} is before notBefore (${iso(notBeforeMs)}); the run could never start`,
    );
  }
  const { priority, deduplicationId } = options;
  if (priority !== undefined) assertPriority(priority, "options.priority");
  if (deduplicationId !== undefined) {
    if (typeof deduplicationId !== "string" || deduplicationId.length === 0) {
      throw new ValidationError("options.deduplicationId", "must be a non-empty string");
    }
    if (deduplicationId.length > maxDeduplicationIdLength) {
      throw new ValidationError(
        "options.deduplicationId",
        `is ${deduplicationId.length} characters; the limit is ${maxDeduplicationIdLength}`,
      );
    }
  }
  return {
    ...(notBeforeMs !== undefined && notBeforeMs > nowMs ? { notBeforeMs } : {}),
    ...(notAfterMs !== undefined ? { notAfterMs } : {}),
    ...(priority !== undefined ? { priority } : {}),
    ...(deduplicationId !== undefined ? { deduplicationId } : {}),
  };
}

/** Throws {@link ValidationError} unless `priority` is an integer in -1,000,000..1,000,000. */
export function assertPriority(priority: unknown, path: string): asserts priority is number {
  if (typeof priority !== "number" || !Number.isInteger(priority) || Math.abs(priority) > 1_000_000) {
    const shown = typeof priority === "string" ? `${JSON.stringify(priority)} (a string)` : String(priority);
    throw new ValidationError(path, `${shown} is not an integer in -1000000..1000000`);
  }
}

const zoned = /(Z|[+-]\d{2}:?\d{2})$/i;

function toEpochMs(value: Date | string | undefined, path: string): number | undefined {
  if (value === undefined) return undefined;
  let epoch: number;
  if (value instanceof Date) {
    epoch = value.getTime();
  } else if (typeof value === "string") {
    if (!zoned.test(value.trim())) {
      throw new ValidationError(
        path,
        `"${value}" has no time zone; use an ISO 8601 time ending in Z or an offset`,
      );
    }
    epoch = Date.parse(value);
  } else {
    throw new ValidationError(path, `${typeof value} is not a date; pass a Date or an ISO 8601 string`);
  }
  if (!Number.isFinite(epoch)) throw new ValidationError(path, `${String(value)} is not a valid date`);
  return epoch;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
