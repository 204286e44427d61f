/**
 * Maintenance pass over the app's job and queue limits (belt and braces: slots are freed
 * in the transition that ends their hold, and freed slots wake their waiters from the
 * table stream, so neither should be needed):
 *
 * - a slot whose holder run does not list it (`RunItem.slots`: deleted out of band, or
 *   a bug) is freed, conditional on the holder and attempt it was read with;
 * - a limit with a free slot and a waiter wakes its waiters (handing each a slot), and
 *   so does a rate limit whose window has permits, and a queue that is not paused.
 *
 * Reads one small query per limit and shard (slots and the head waiter), and one
 * `GetItem` per held slot; per-key limits are not listed anywhere and are not swept.
 */

import { DeleteCommand } from "@aws-sdk/lib-dynamodb";
import type { JobApp } from "../jobs/job-app.js";
import {
  type ConcurrencyLimit,
  concurrencyLimit,
  jobLimitKey,
  queueLimitKey,
} from "../limits/concurrency-limits.js";
import { wakeQueue, wakeRateWaiters } from "../limits/limit-gate.js";
import { limitPks, readLimit } from "../limits/limit-partition.js";
import { readQueueRecords } from "../limits/queue-states.js";
import { rateWaitList } from "../limits/rate-shards.js";
import { wakeNext } from "../limits/waiters.js";
import type { Dispatcher } from "../queue/dispatcher.js";
import { committed } from "../store/condition-failed.js";
import { slotSkPrefix } from "../store/keys.js";
import type { RunStore } from "../store/run-store.js";

export interface LimitJanitorOptions {
  readonly store: RunStore;
  readonly dispatcher: Dispatcher;
  readonly app: JobApp;
  readonly now: () => number;
}

/** What one pass did. */
export interface LimitJanitorReport {
  readonly freedSlots: number;
  readonly woken: number;
}

/** The job and queue limits of `app`. */
function limitsOf(app: JobApp): ConcurrencyLimit[] {
  return [
    ...app
      .jobs()
      .flatMap((job) =>
        job.maxConcurrency === undefined
          ? []
          : [concurrencyLimit(jobLimitKey(job.name), job.maxConcurrency, "job limit")],
      ),
    ...app
      .queues()
      .flatMap((queue) =>
        queue.maxConcurrency === undefined
          ? []
          : [concurrencyLimit(queueLimitKey(queue.name), queue.maxConcurrency, "queue limit")],
      ),
  ];
}

export async function sweepLimits(options: LimitJanitorOptions): Promise<LimitJanitorReport> {
  const { store, app } = options;
  let freedSlots = 0;
  let woken = 0;
  for (const limit of limitsOf(app)) freedSlots += await freeLeakedSlots(store, limit);
  const paused = new Set((await readQueueRecords(store)).filter((q) => q.paused).map((q) => q.name));
  for (const limit of limitsOf(app)) {
    if (limit.waitingFor === "queue limit" && paused.has(limit.key.slice(queueLimitKey("").length))) continue;
    const state = await readLimit(store, limit);
    if (state.headWaiterSk !== undefined && state.held.size < limit.max)
      woken += await wakeNext(options, limit, limit.max - state.held.size, { slots: limit.max });
  }
  for (const queue of app.queues())
    if (queue.maxConcurrency === undefined && !paused.has(queue.name))
      woken += await wakeQueue(options, queue);
  for (const rate of app.rateLimits()) {
    if ((await readLimit(store, { ...rateWaitList(rate), max: 0 })).headWaiterSk !== undefined)
      woken += await wakeRateWaiters(options, rate, options.now());
  }
  return { freedSlots, woken };
}

/** Frees the slots of `limit` whose holder does not hold them, in every shard. Returns how many. */
async function freeLeakedSlots(store: RunStore, limit: ConcurrencyLimit): Promise<number> {
  let freed = 0;
  for (const pk of limitPks(limit)) freed += await freeLeakedSlotsIn(store, pk);
  return freed;
}

/** {@link freeLeakedSlots} in one shard's partition `pk`. */
async function freeLeakedSlotsIn(store: RunStore, pk: string): Promise<number> {
  let freed = 0;
  for await (const slot of store.query<{ pk: string; sk: string; runId: string; attempt: number }>({
    KeyConditionExpression: "pk = :pk AND begins_with(sk, :s)",
    ExpressionAttributeValues: { ":pk": pk, ":s": slotSkPrefix },
    ConsistentRead: true,
  })) {
    const holder = await store.get(slot.runId);
    if (holder?.slots?.some((s) => s.pk === slot.pk && s.sk === slot.sk)) continue;
    const deleted = await committed(
      store.doc.send(
        new DeleteCommand({
          TableName: store.tableName,
          Key: { pk: slot.pk, sk: slot.sk },
          ConditionExpression: "runId = :id AND attempt = :a",
          ExpressionAttributeValues: { ":id": slot.runId, ":a": slot.attempt },
        }),
      ),
    );
    if (deleted) freed++;
  }
  return freed;
}
