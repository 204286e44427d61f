/**
 * The maintenance pass, run every minute by the maintenance function (and every few
 * hundred milliseconds by the local timer). It is a few bounded passes, each doing work
 * proportional to what needs action, never to the backlog: nothing here reads Pending
 * runs to guess which lost their message (the table stream's consumer sends every
 * wake-up), and a healthy backlog costs it nothing.
 *
 * 1. Dead letters first: runs whose lease message dead-lettered are recovered, Pending
 *    runs whose wake-up did are failed (`dead-letters.ts`).
 * 2. Runs due beyond the visibility hold with no timer are released when due
 *    (`later-releases.ts`).
 * 3. The app's limits: leaked slots are freed, stranded waiters woken (`limit-janitor.ts`;
 *    only with an app that has limits or queues of its own, which it knows).
 *
 * Stale leases need no scan: a dead holder's message comes back to a lane when its
 * visibility runs out, and the worker that receives it recovers the run.
 */
import type { JobApp } from "../jobs/job-app.js";
import type { Dispatcher } from "../queue/dispatcher.js";
import type { RunStore } from "../store/run-store.js";
import type { RunTimer } from "../timer/timer-port.js";
import { retryPolicyOf } from "../worker/recovery.js";
import { type DeadLetterReport, drainDeadLetters } from "./dead-letters.js";
import { releaseLaterRuns } from "./later-releases.js";
import { type LimitJanitorReport, sweepLimits } from "./limit-janitor.js";

export interface MaintenanceOptions {
  readonly store: RunStore;
  readonly dispatcher: Dispatcher;
  /** Jobs known in this process (their retry policies); others are read from job records. */
  readonly app?: JobApp;
  /** Releases long retry backoffs of recovered runs. @default none */
  readonly timer?: RunTimer;
  /** The workers' lease, in ms (a container worker whose heartbeat is older is gone). @default 60000 */
  readonly leaseMs?: number;
  /** Epoch ms by which the pass must end (the function's time limit, less a margin). */
  readonly deadlineMs?: number;
  /** Clock, epoch ms. @default Date.now */
  readonly now?: () => number;
  /** Called with an item's error (the pass goes on). @default console.error */
  readonly onError?: (error: unknown) => void;
}

/** What one pass did. */
export interface MaintenanceReport {
  readonly deadLetters: DeadLetterReport;
  readonly released: number;
  /** The limits pass (none without an app that has limits or queues). */
  readonly limits?: LimitJanitorReport;
  readonly errors: number;
}

export async function runMaintenance(options: MaintenanceOptions): Promise<MaintenanceReport> {
  const now = options.now ?? Date.now;
  const { store, dispatcher } = options;
  const deadLetters = await drainDeadLetters({
    store,
    dispatcher,
    ...(options.timer ? { timer: options.timer } : {}),
    now,
    leaseMs: options.leaseMs ?? 60_000,
    retryPolicy: (job) => retryPolicyOf(options.app, store, job),
    ...(options.deadlineMs !== undefined ? { deadlineMs: options.deadlineMs } : {}),
    ...(options.onError ? { onError: options.onError } : {}),
  });
  const later = await releaseLaterRuns({
    store,
    dispatcher,
    now,
    ...(options.onError ? { onError: options.onError } : {}),
  });
  let limits: LimitJanitorReport | undefined;
  let limitErrors = 0;
  if (options.app && (options.app.hasLimits || options.app.queues().length > 1)) {
    try {
      limits = await sweepLimits({ store, dispatcher, app: options.app, now });
    } catch (error) {
      limitErrors = 1;
      (options.onError ?? console.error)(error);
    }
  }
  return {
    deadLetters,
    released: later.released,
    ...(limits ? { limits } : {}),
    errors: deadLetters.errors + later.errors + limitErrors,
  };
}
