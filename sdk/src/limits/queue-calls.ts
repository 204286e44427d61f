/**
 * The client's queue calls: pause, resume and read queues (`client.pauseQueue`,
 * `resumeQueue`, `getQueues`). Definitions come from the queue records written at
 * registration (`queue-states.ts`), so a client without the app reads them too.
 */

import { readRunCounts } from "../projections/run-counts.js";
import type { Dispatcher } from "../queue/dispatcher.js";
import type { RunStore } from "../store/run-store.js";
import { sleep } from "../store/transact.js";
import { queueWaitList } from "./concurrency-limits.js";
import { wakeQueue } from "./limit-gate.js";
import { readLimit } from "./limit-partition.js";
import { queueStateMaxAgeMs, readQueueRecords, setQueuePaused } from "./queue-states.js";
import { waiterCount } from "./waiters.js";

/** A queue as `client.getQueues()` reads it. */
export interface QueueInfo {
  readonly name: string;
  readonly priority: number;
  readonly maxConcurrency?: number;
  readonly rateLimit?: string;
  readonly paused: boolean;
  /** Runs holding one of the queue's slots now (a queue with `maxConcurrency`), else Running runs as the run counts projection last saw them. */
  readonly running: number;
  /** Pending runs, as the run counts projection last saw them (up to a batching window behind). */
  readonly pending: number;
  /** Runs in the queue's waiter list: waiting for its limit or for it to resume (exact, strongly consistent). */
  readonly waiting: number;
}

/** Margin past the workers' cache age before `pauseQueue` returns, in ms (covers a claim in flight). */
const pauseMarginMs = 250;

/** Pauses a queue, then waits until no worker can still start its runs (about 1.25 s). */
export async function pauseQueue(store: RunStore, name: string): Promise<void> {
  await setQueuePaused(store, name, true);
  await sleep(queueStateMaxAgeMs + pauseMarginMs);
}

/** Resumes a queue and wakes its waiters in claim order (as many as it has free slots). Returns how many it woke. */
export async function resumeQueue(
  deps: { readonly store: RunStore; readonly dispatcher: Dispatcher },
  name: string,
): Promise<number> {
  const record = await setQueuePaused(deps.store, name, false);
  return wakeQueue(deps, {
    name,
    ...(record.maxConcurrency !== undefined ? { maxConcurrency: record.maxConcurrency } : {}),
  });
}

/** Every queue with a record, with its state and counts. */
export async function getQueues(store: RunStore): Promise<QueueInfo[]> {
  const records = await readQueueRecords(store);
  return Promise.all(
    records.map(async (record) => {
      const list = queueWaitList(record);
      const [counts, waiting, slots] = await Promise.all([
        readRunCounts(store, "queue", record.name),
        waiterCount(store, list),
        record.maxConcurrency !== undefined
          ? readLimit(store, { ...list, max: record.maxConcurrency })
          : undefined,
      ]);
      return {
        name: record.name,
        priority: record.priority ?? 0,
        ...(record.maxConcurrency !== undefined ? { maxConcurrency: record.maxConcurrency } : {}),
        ...(record.rateLimit !== undefined ? { rateLimit: record.rateLimit } : {}),
        paused: record.paused === true,
        running: slots ? slots.held.size : counts.Running,
        pending: counts.Pending,
        waiting,
      };
    }),
  );
}
