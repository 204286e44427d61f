/**
 * The timer port in process, for the local stack and tests: a table of pending timers
 * keyed by the same deterministic names as the Scheduler's schedules, fired by
 * {@link LocalRunTimer.fireDue} (the local stack's timer loop calls it every few hundred
 * milliseconds; tests call it after moving their clock).
 *
 * Same contract as EventBridge Scheduler, tighter timing: a release fires at its due
 * time (no lead), an expiry at `notAfter`, each within one loop interval. A firing that
 * fails is tried again after `retryDelayMs` (at least once). Timers live in memory:
 * after a restart the local stack makes them again (`maintenance/resend-wake-ups.ts`), as it
 * would on AWS for a lost schedule.
 *
 * The default threshold is the visibility hold (12 hours): locally a held message costs
 * nothing and nobody watches in-flight counts, so only runs due beyond the hold go
 * through the timer.
 */
import type { Dispatcher } from "../queue/dispatcher.js";
import { maxHoldMs } from "../queue/visibility.js";
import type { RunStore } from "../store/run-store.js";
import { expireRun } from "./timer-actions.js";
import {
  assertTimerSettings,
  type RunTimer,
  scheduleName,
  type TimerPurpose,
  type TimerRun,
} from "./timer-port.js";

export interface LocalRunTimerOptions {
  readonly store: RunStore;
  readonly dispatcher: Dispatcher;
  /** Runs due further ahead than this go through the timer, in ms. @default maxHoldMs (12 h less a minute) */
  readonly releaseThresholdMs?: number;
  /** Wait before a failed firing is tried again, in ms. @default 1000 */
  readonly retryDelayMs?: number;
  /** Called with a firing's error (it is tried again). @default console.error */
  readonly onError?: (error: unknown, name: string) => void;
  /** Clock, epoch ms. @default Date.now */
  readonly now?: () => number;
}

/** A pending local timer. */
export interface LocalTimerEntry {
  readonly name: string;
  readonly purpose: TimerPurpose;
  readonly runId: string;
  /** When it fires, epoch ms. */
  readonly atMs: number;
}

interface Entry extends LocalTimerEntry {
  readonly fire: () => Promise<unknown>;
}

/**
 * The in-process timer (see the module comment).
 *
 * @example
 * ```ts
 * let timer: LocalRunTimer | undefined;
 * const system = connect({ ...local, timer: (parts) => (timer = new LocalRunTimer(parts)) });
 * setInterval(() => void timer?.fireDue(), 250); // the local stack's timer loop does this
 * ```
 */
export class LocalRunTimer implements RunTimer {
  readonly releaseThresholdMs: number;
  readonly releaseLeadMs = 0;
  readonly expiresRuns = true;
  readonly #options: LocalRunTimerOptions;
  readonly #now: () => number;
  readonly #entries = new Map<string, Entry>();
  #firing: Promise<number> = Promise.resolve(0);

  constructor(options: LocalRunTimerOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.releaseThresholdMs = options.releaseThresholdMs ?? maxHoldMs;
    assertTimerSettings(this.releaseThresholdMs, this.releaseLeadMs, "LocalRunTimer");
  }

  async scheduleRelease(run: TimerRun, dueMs: number): Promise<void> {
    const snapshot: TimerRun = {
      runId: run.runId,
      attempt: run.attempt,
      priority: run.priority,
      enqueueCount: run.enqueueCount,
      ...(run.parentRunId !== undefined ? { parentRunId: run.parentRunId } : {}),
      ...(run.parentAttempt !== undefined ? { parentAttempt: run.parentAttempt } : {}),
      ...(run.batchId !== undefined ? { batchId: run.batchId } : {}),
      ...(run.jobName !== undefined ? { jobName: run.jobName } : {}),
      ...(run.queuePriority !== undefined ? { queuePriority: run.queuePriority } : {}),
    };
    this.#add(scheduleName(run.runId, "release", run.attempt), "release", run.runId, dueMs, () =>
      this.#options.dispatcher.send(snapshot),
    );
  }

  async scheduleExpiry(run: TimerRun, notAfterMs: number): Promise<void> {
    this.#add(scheduleName(run.runId, "expiry", run.attempt), "expiry", run.runId, notAfterMs, () =>
      expireRun(this.#options.store, run.runId, this.#now),
    );
  }

  async cancelSchedules(run: TimerRun, purposes: readonly TimerPurpose[]): Promise<void> {
    for (const purpose of purposes) this.#entries.delete(scheduleName(run.runId, purpose, run.attempt));
  }

  /** The timers that have not fired yet, soonest first. */
  pending(): LocalTimerEntry[] {
    return [...this.#entries.values()]
      .map(({ name, purpose, runId, atMs }) => ({ name, purpose, runId, atMs }))
      .sort((a, b) => a.atMs - b.atMs);
  }

  /**
   * Fires every timer due at the clock's now (one at a time, soonest first) and returns
   * how many fired. Calls are serialized.
   */
  fireDue(): Promise<number> {
    this.#firing = this.#firing.then(() => this.#fireDue());
    return this.#firing;
  }

  async #fireDue(): Promise<number> {
    let fired = 0;
    for (const entry of [...this.#entries.values()].sort((a, b) => a.atMs - b.atMs)) {
      if (entry.atMs > this.#now()) break;
      // Canceled while an earlier one fired: leave it.
      if (this.#entries.get(entry.name) !== entry) continue;
      this.#entries.delete(entry.name);
      try {
        await entry.fire();
        fired++;
      } catch (error) {
        this.#entries.set(entry.name, { ...entry, atMs: this.#now() + (this.#options.retryDelayMs ?? 1000) });
        (this.#options.onError ?? ((e, n) => console.error(`local timer ${n} failed:`, e)))(
          error,
          entry.name,
        );
      }
    }
    return fired;
  }

  #add(name: string, purpose: TimerPurpose, runId: string, atMs: number, fire: () => Promise<unknown>): void {
    // Same name, same run, attempt and purpose: a no-op, as a Scheduler ConflictException is.
    if (!this.#entries.has(name)) this.#entries.set(name, { name, purpose, runId, atMs, fire });
  }
}
