/** Reading limits for `client.getLimits()`: slots held and runs waiting, per limit key (every shard of it). */
import type { WaitingFor } from "../domain/run.js";
import type { JobApp } from "../jobs/job-app.js";
import type { RunStore } from "../store/run-store.js";
import {
  type ConcurrencyLimit,
  concurrencyLimit,
  jobLimitKey,
  keyLimitKey,
  queueLimitKey,
} from "./concurrency-limits.js";
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
  const wanted: ConcurrencyLimit[] = [];
  for (const job of app.jobs()) {
    if (job.maxConcurrency !== undefined)
      wanted.push(concurrencyLimit(jobLimitKey(job.name), job.maxConcurrency, "job limit"));
    const keyLimit = job.concurrencyKey;
    if (keyLimit)
      for (const key of keys[job.name] ?? [])
        wanted.push(concurrencyLimit(keyLimitKey(job.name, key), keyLimit.maxConcurrency, "key limit"));
  }
  for (const queue of app.queues())
    if (queue.maxConcurrency !== undefined)
      wanted.push(concurrencyLimit(queueLimitKey(queue.name), queue.maxConcurrency, "queue limit"));
  return Promise.all(
    wanted.map(async (limit) => {
      const [state, waiting] = await Promise.all([readLimit(store, limit), waiterCount(store, limit)]);
      return {
        limit: limit.key,
        kind: limit.waitingFor as LimitInfo["kind"],
        maxConcurrency: limit.max,
        running: state.held.size,
        waiting,
      };
    }),
  );
}
