/**
 * The maintenance sweep (invariant 3, nothing is lost). Run every minute by the
 * maintenance function on AWS, and every few hundred milliseconds by the local timer.
 *
 * - Pending runs that are due: expire those past `notAfter`; send a message for those
 *   never sent (due beyond the visibility hold) or whose last message is older than
 *   `lostMessageGraceMs` (the send failed, or the message was lost).
 * - Running runs whose lease expired (worker killed, or frozen): a failed attempt with
 *   reason `lease expired`, through the retry policy like any other failure (a backoff
 *   beyond the timer's threshold goes through the timer, as in the worker).
 *
 * The sweep is also the timer's safety net: a run whose timer release never came is
 * due and unsent after the grace period, and a run whose expiry timer never fired is
 * found past its `notAfter` here.
 */
import {
  backoffMillis,
  hasRetriesLeft,
  noRetries,
  type ResolvedRetryPolicy,
} from "../domain/retry-policy.js";
import { expire, failAttempt } from "../domain/transitions.js";
import type { JobApp } from "../jobs/job-app.js";
import type { Dispatcher } from "../queue/dispatcher.js";
import { applyTransition, cancelDescendants } from "../runs/lifecycle.js";
import { dueMs } from "../store/run-item.js";
import type { RunStore } from "../store/run-store.js";
import { type RunTimer, releasePath } from "../timer/timer-port.js";
import { requeuedRetry } from "../worker/worker-core.js";

export interface SweepOptions {
  readonly store: RunStore;
  readonly dispatcher: Dispatcher;
  /** Jobs known in this process (their retry policies); others are read from job records. */
  readonly app?: JobApp;
  /** How long a due run may wait after its last send before it is sent again, in ms. @default 30000 */
  readonly lostMessageGraceMs?: number;
  /** Clock, epoch ms. @default Date.now */
  readonly now?: () => number;
  /** Releases long retry backoffs, deletes timers of runs it cancels. @default none */
  readonly timer?: RunTimer;
}

/** What one sweep did. */
export interface SweepReport {
  expired: number;
  enqueued: number;
  recovered: number;
}

export async function sweep(options: SweepOptions): Promise<SweepReport> {
  const { store, dispatcher } = options;
  const now = options.now ?? Date.now;
  const grace = options.lostMessageGraceMs ?? 30_000;
  const report: SweepReport = { expired: 0, enqueued: 0, recovered: 0 };

  for await (const run of store.due("Pending", now())) {
    if (run.notAfterMs !== undefined && run.notAfterMs <= now()) {
      if (await applyTransition(store, run.runId, (r) => expire(r, now()))) report.expired++;
      continue;
    }
    const lastSent = run.enqueuedMs === undefined ? undefined : Math.max(run.enqueuedMs, dueMs(run));
    if (lastSent !== undefined && now() - lastSent < grace) continue;
    const current = await store.get(run.runId);
    if (!current || current.status !== "Pending") continue;
    const marked = await store.markEnqueued(current, now());
    if (!marked) continue; // changed meanwhile: its new state gets its own send
    await dispatcher.send(marked);
    report.enqueued++;
  }

  for await (const run of store.due("Running", now())) {
    const policy = await retryPolicyOf(options, run.jobName);
    const attempt = run.attempt;
    const retryAtMs = hasRetriesLeft(policy, attempt) ? now() + backoffMillis(policy, attempt) : undefined;
    const viaTimer = retryAtMs !== undefined && releasePath(options.timer, retryAtMs, now()) === "timer";
    const error = {
      type: "LeaseExpiredError",
      message: `worker ${run.workerId ?? "?"} stopped renewing its lease`,
    };
    const stored = await applyTransition(store, run.runId, (r) => {
      if ((r.leaseExpiresMs ?? 0) > now()) return undefined; // renewed meanwhile
      const t = failAttempt(r, attempt, error, retryAtMs, now(), "lease expired");
      if (!t) return undefined;
      const next = retryAtMs !== undefined ? requeuedRetry(t.next, now(), viaTimer) : t.next;
      return { ...t, next, guardLease: true };
    });
    if (!stored) continue;
    report.recovered++;
    if (stored.status === "Pending" && viaTimer && retryAtMs !== undefined)
      await options.timer?.scheduleRelease(stored, retryAtMs);
    else if (stored.status === "Pending") await dispatcher.send(stored);
    else
      await cancelDescendants(
        store,
        stored.runId,
        `parent run ${stored.runId} ended ${stored.status}`,
        now,
        options.timer,
      );
  }
  return report;
}

async function retryPolicyOf(options: SweepOptions, jobName: string): Promise<ResolvedRetryPolicy> {
  const local = options.app?.getJob(jobName);
  if (local) return local.retry;
  return (await options.store.getJob(jobName))?.retry ?? noRetries;
}
