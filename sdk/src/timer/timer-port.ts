/**
 * The timer port: what wakes a run up when no worker is looking at it. On AWS this is
 * EventBridge Scheduler (`scheduler-timer.ts`); on the local stack an in-process timer
 * (`local-timer.ts`). Both pass one conformance suite (`test/timer/timer-conformance.ts`).
 * See docs/TIMERS.md for thresholds, precision, quotas and cost.
 *
 * A timer does three things for a run:
 *
 * - **release**: put the run's wake-up message (`{ runId, attempt }`, the same message
 *   and deduplication id the dispatcher would send) on its lane when the run is due:
 *   a `notBefore` further ahead than {@link RunTimer.releaseThresholdMs}, or a retry
 *   whose backoff is that long. Closer due times are sent at once and held by message
 *   visibility, which costs no timer call.
 * - **expiry**: at `notAfter`, apply the conditional `Pending → Canceled` transition with
 *   the expiry reason (`domain/transitions.ts` `expire`), so a run nobody reached in time
 *   ends even while every worker is busy or none polls.
 * - **cancel**: delete a release or an expiry that is no longer wanted (the run was
 *   canceled, or claimed before its deadline).
 *
 * The contract every implementation keeps:
 *
 * - **Never early.** A release message arrives no earlier than `dueMs - releaseLeadMs`
 *   (the worker holds an early message by visibility until `notBefore`, so the run never
 *   starts early); an expiry never applies before `notAfterMs` (and `expire` itself
 *   refuses to).
 * - **At least once.** A scheduled action fires at least once unless it was canceled,
 *   within the implementation's documented lateness. It may fire more than once: the
 *   lane message carries the run's deduplication id and the claim is conditional, and
 *   the expiry is a conditional transition that does nothing to a run that started or
 *   ended, so a repeat is harmless.
 * - **Idempotent scheduling.** Scheduling the same purpose for the same run and attempt
 *   again is a no-op (names are deterministic), so a retried call never doubles a timer.
 * - **Best-effort deletion.** `cancelSchedules` deletes what exists and treats "not
 *   found" as done. A deletion that fails, or loses a race with the firing, is harmless
 *   for the same reasons as a repeat.
 *
 * What it deliberately leaves out:
 *
 * - Recurring schedules: cron and the maintenance tick are the maintenance function's,
 *   not per-run timers.
 * - Reading or listing timers: the run item records which timers it may have
 *   (`timerRelease`, `timerExpiry`), so nobody needs to ask the timer.
 * - Durability beyond the implementation's own: the store stays the source of truth and
 *   the table stream's consumer makes every release and expiry the trigger made again
 *   (so one that failed is retried), and the worker expires a run it finds past its
 *   deadline, so a lost timer delays a run but never loses it.
 * - Precision finer than the implementation's: EventBridge Scheduler fires within the
 *   minute after its time; the run's own start time is made precise by the worker.
 * - Any other transition: a timer only sends wake-up messages and expires.
 */
import { ValidationError } from "../errors.js";
import { maxHoldMs } from "../queue/visibility.js";
import type { RunItem } from "../store/run-item.js";

/** What a timer needs to know about a run: its identity, its lane, its send count and its parent (the wake-up's fields). */
export type TimerRun = Pick<
  RunItem,
  "runId" | "attempt" | "priority" | "enqueueCount" | "parentRunId" | "parentAttempt" | "batchId"
> &
  Partial<Pick<RunItem, "jobName" | "queuePriority">>;

/** What a timer does for a run. */
export type TimerPurpose = "release" | "expiry";

/**
 * The timer port. See the module comment for the contract.
 *
 * @example
 * ```ts
 * // what the client does for a run due in three hours (the timer decides the rest)
 * if (releasePath(timer, notBeforeMs, Date.now()) === "timer") await timer.scheduleRelease(run, notBeforeMs);
 * ```
 */
export interface RunTimer {
  /**
   * A run due further ahead than this, in ms, is released by the timer; a closer one is
   * sent to its lane at once and held by message visibility. At most {@link maxHoldMs}.
   */
  readonly releaseThresholdMs: number;
  /** How early a release message may arrive before the due time, in ms (the worker holds it until then). */
  readonly releaseLeadMs: number;
  /**
   * Whether {@link RunTimer.scheduleExpiry} does anything. When false, a deadline is
   * enforced by the worker at claim time only.
   */
  readonly expiresRuns: boolean;
  /**
   * Puts the run's wake-up message on its lane at about `dueMs` (never before
   * `dueMs - releaseLeadMs`). `run.enqueueCount` must already count this send (the
   * message's deduplication id is built from it). Named per run, attempt and purpose.
   */
  scheduleRelease(run: TimerRun, dueMs: number): Promise<void>;
  /**
   * At or after `notAfterMs`, cancels the run with the expiry reason if it is still
   * Pending. One per run (a deadline belongs to the run, not to an attempt).
   */
  scheduleExpiry(run: TimerRun, notAfterMs: number): Promise<void>;
  /** Deletes the run's timers for `purposes` (the release of `run.attempt`). Missing ones are fine. */
  cancelSchedules(run: TimerRun, purposes: readonly TimerPurpose[]): Promise<void>;
}

/** The run item fields that record timers (set in the same write that decided them). */
export type TimerFields = Pick<RunItem, "attempt" | "timerRelease" | "timerExpiry">;

/** The timers a run may still have: its current attempt's release and its expiry. */
export function timerPurposesOf(run: TimerFields): TimerPurpose[] {
  const purposes: TimerPurpose[] = [];
  if (run.timerRelease !== undefined && run.timerRelease === run.attempt) purposes.push("release");
  if (run.timerExpiry === true) purposes.push("expiry");
  return purposes;
}

/**
 * How a run due at `dueMs` reaches its lane:
 * - `lane`: send now; the worker holds the message by visibility until due;
 * - `timer`: the timer sends it (due further ahead than its threshold);
 * - `later`: no timer and due beyond the visibility hold: the maintenance pass sends it
 *   once it is due (a retry sends now instead and is held again as often as needed).
 */
export function releasePath(
  timer: RunTimer | undefined,
  dueMs: number,
  nowMs: number,
): "lane" | "timer" | "later" {
  if (dueMs - nowMs <= Math.min(timer?.releaseThresholdMs ?? maxHoldMs, maxHoldMs)) return "lane";
  return timer ? "timer" : "later";
}

/** EventBridge Scheduler's schedule name rule (kept by every timer): 1..64 of `[0-9a-zA-Z-_.]`. */
const namePattern = /^[0-9a-zA-Z\-_.]{1,64}$/;

/**
 * The schedule name of a run's timer: `run-<runId>-<attempt>-release` for the release
 * of `attempt` (the run's attempt count when released), `run-<runId>-expiry` for its
 * expiry. A ULID run id gives 40 (attempt 0; at most 49) and 37 characters.
 * @throws {@link ValidationError} when the run id makes a name Scheduler would refuse.
 */
export function scheduleName(runId: string, purpose: TimerPurpose, attempt: number): string {
  const name = purpose === "release" ? `run-${runId}-${attempt}-release` : `run-${runId}-expiry`;
  if (!namePattern.test(name)) {
    throw new ValidationError(
      "runId",
      `"${runId}" cannot name a schedule (${name}: 1-64 of 0-9 a-z A-Z - _ .)`,
    );
  }
  return name;
}

/** Checks a timer's settings once, at construction. */
export function assertTimerSettings(releaseThresholdMs: number, releaseLeadMs: number, what: string): void {
  if (
    !Number.isFinite(releaseThresholdMs) ||
    releaseThresholdMs <= releaseLeadMs ||
    releaseThresholdMs > maxHoldMs
  ) {
    throw new ValidationError(
      `${what}.releaseThresholdMs`,
      `${releaseThresholdMs} must be above releaseLeadMs (${releaseLeadMs}) and at most ${maxHoldMs} (the visibility hold)`,
    );
  }
}
