/** Reading limits for `client.getLimits()`: slots held and runs waiting, per limit key. */
import type { WaitingFor } from "../domain/run.js";
import type { JobApp } from "../jobs/job-app.js";
import type { RunStore } from "../store/run-store.js";
import { jobLimitKey, keyLimitKey, queueLimitKey } from "./concurrency-limits.js";
import { readLimit } from "./limit-partition.js";
import { waiterCount } from "./waiters.js";

/** One concurrency limit's state. */
export interface LimitInfo {
  /** The limit key: `job#<job>`, `queue#<queue>` or `key#<job>#<key>`. */
  readonly limit: string;
  readonly kind: Extract<WaitingFor, "job limit" | "queue limit" | "key limit">;
  readonly maxConcurrency: number;
  /** Slots held now: runs of this limit that are Running. */
  readonly running: number;
  /** Runs in this limit's waiter list. */
  readonly waiting: number;
}

/** The state of every job and queue limit of `app`, and of the per-key limits named in `keys`. */
export async function readLimits(
  store: RunStore,
  app: JobApp,
  keys: Readonly<Record<string, readonly string[]>>,
): Promise<LimitInfo[]> {
  const wanted: { limit: string; kind: LimitInfo["kind"]; max: number }[] = [];
  for (const job of app.jobs()) {
    if (job.maxConcurrency !== undefined)
      wanted.push({ limit: jobLimitKey(job.name), kind: "job limit", max: job.maxConcurrency });
    const keyLimit = job.concurrencyKey;
    if (keyLimit)
      for (const key of keys[job.name] ?? [])
        wanted.push({ limit: keyLimitKey(job.name, key), kind: "key limit", max: keyLimit.maxConcurrency });
  }
  for (const queue of app.queues())
    if (queue.maxConcurrency !== undefined)
      wanted.push({ limit: queueLimitKey(queue.name), kind: "queue limit", max: queue.maxConcurrency });
  return Promise.all(
    wanted.map(async ({ limit, kind, max }) => {
      const [state, waiting] = await Promise.all([readLimit(store, limit, max), waiterCount(store, limit)]);
      return { limit, kind, maxConcurrency: max, running: state.held.size, waiting };
    }),
  );
}
