/**
 * Recovering a run whose holder is gone (invariant 3): the attempt is failed with
 * `LeaseExpiredError` and reason `lease expired`, through the job's retry policy like any
 * other failure. The write is conditional on the run's status, attempt and last status
 * event, so it loses to anything that happened meanwhile (the holder finished, a cancel).
 * The children of the recovered attempt are canceled from the table's stream, like those
 * of any attempt that ends without an outcome (`runs/cascade-cancel.ts`).
 *
 * Used by the worker that receives the returned message of a running attempt, and by
 * the maintenance pass over dead-lettered messages.
 */
import {
  backoffMillis,
  hasRetriesLeft,
  noRetries,
  type ResolvedRetryPolicy,
} from "../domain/retry-policy.js";
import { failAttempt, failedAttempts } from "../domain/transitions.js";
import type { JobApp } from "../jobs/job-app.js";
import type { Dispatcher } from "../queue/dispatcher.js";
import { applyTransition } from "../runs/lifecycle.js";
import type { RunItem } from "../store/run-item.js";
import type { RunStore } from "../store/run-store.js";
import { type RunTimer, releasePath } from "../timer/timer-port.js";

/** What a recovery needs. */
export interface RecoveryDeps {
  readonly store: RunStore;
  readonly dispatcher: Dispatcher;
  readonly timer?: RunTimer;
  readonly now: () => number;
  /** The job's retry policy (from the app, else its job record). */
  readonly retryPolicy: (jobName: string) => Promise<ResolvedRetryPolicy | undefined>;
}

/** A job's retry policy: from the app when it knows the job, else from its job record. */
export async function retryPolicyOf(
  app: JobApp | undefined,
  store: RunStore,
  jobName: string,
): Promise<ResolvedRetryPolicy | undefined> {
  return app?.getJob(jobName)?.retry ?? (await store.getJob(jobName))?.retry;
}

/**
 * Whether the worker holding `run` may still be executing it: a Lambda holder until its
 * invocation's deadline (`holdUntilMs`); a container holder for `leaseMs` after its claim
 * (its first heartbeat may be up to `leaseMs / 3` away) and while its heartbeat is
 * younger than `leaseMs`.
 */
export async function holderAlive(
  store: RunStore,
  run: RunItem,
  leaseMs: number,
  nowMs: number,
): Promise<boolean> {
  if (run.holdUntilMs !== undefined) return nowMs <= run.holdUntilMs;
  if (run.startedMs !== undefined && nowMs - run.startedMs < leaseMs) return true;
  if (run.workerId === undefined) return false;
  const beat = await store.getHeartbeat(run.workerId);
  return beat !== undefined && nowMs - beat.beatMs < leaseMs;
}

/** Recovers `run` (Running, holder gone). Returns the stored run, or `undefined` if it changed meanwhile. */
export async function recoverRun(deps: RecoveryDeps, run: RunItem): Promise<RunItem | undefined> {
  const { store, dispatcher, timer, now } = deps;
  const policy = (await deps.retryPolicy(run.jobName)) ?? noRetries;
  const attempt = run.attempt;
  const failed = failedAttempts(run);
  const retryAtMs = hasRetriesLeft(policy, failed) ? now() + backoffMillis(policy, failed) : undefined;
  const viaTimer = retryAtMs !== undefined && releasePath(timer, retryAtMs, now()) === "timer";
  const error = {
    type: "LeaseExpiredError",
    message: `worker ${run.workerId ?? "?"} stopped holding the run (no heartbeat, or past its deadline)`,
  };
  const stored = await applyTransition(store, run, (r) => {
    if (r.workerId !== run.workerId) return undefined;
    const t = failAttempt(r, attempt, error, retryAtMs, now(), "lease expired");
    return t && viaTimer ? { ...t, next: { ...t.next, timerRelease: t.next.attempt } } : t;
  });
  if (!stored) return undefined;
  if (stored.status === "Pending" && viaTimer && retryAtMs !== undefined)
    await timer?.scheduleRelease(stored, retryAtMs).catch(() => undefined);
  else if (stored.status === "Pending") await dispatcher.send(stored).catch(() => undefined);
  return stored;
}
