/**
 * Waiter lists: runs that could not start because a limit was full, a rate window spent
 * or their queue paused. A waiter is one item in its limit's partition, sorted in claim
 * order (`store/keys.ts` `waiterSk`: queue priority, run priority, due time, creation
 * time, run id); the waiting run's message is deleted, so it holds no in-flight message
 * and costs no receives while it waits.
 *
 * Waking (`wakeNext`): the head waiter's run item counts one more wake-up
 * (`enqueueCount + 1`, conditional on it still waiting there) and its message is sent;
 * the table stream's consumer sends the same wake-up again (same deduplication id), so
 * a waker that dies after its write loses nothing. Then the waiter item is deleted. A
 * waiter whose run no longer waits there (canceled, claimed by a stale message) is just
 * deleted, and the next one is woken instead.
 *
 * Sharded lists (a limit of more than 100 slots, a rate limit over 200 starts/s,
 * `domain/limit-shards.ts`): a run's waiter item is in shard `hash(runId) mod shards`, and
 * every reader reads all shards (strongly consistent, in parallel); the head is the first
 * of the shards' heads and a wake takes the first waiters of the shards' heads merged,
 * so claim order is exactly what one partition gives.
 *
 * Lost wake-ups: a run that found its limit full enters the list, then reads the limit
 * again; a holder that frees its slot reads the list after its write (from the stream).
 * Whichever comes second sees the other, so a slot never frees while a waiter sleeps.
 * Sharding keeps this: the waiter writes its item in one shard and then reads every slot
 * shard; the holder deletes its slot in one shard and then reads every waiter shard; of
 * the two items, one was written before the other's writer read its partition.
 */

import { DeleteCommand, PutCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import type { WaitingFor } from "../domain/run.js";
import type { Dispatcher } from "../queue/dispatcher.js";
import { committed } from "../store/condition-failed.js";
import { limitPk, runKey, waiterShardOf, waiterSk, waiterSkPrefix } from "../store/keys.js";
import { releaseItems } from "../store/limit-release.js";
import { dueMs, type RunItem } from "../store/run-item.js";
import type { RunStore } from "../store/run-store.js";
import { type TransactItem, transactWrite } from "../store/transact.js";
import { freeSlots, limitPks, readLimit, takeSlot, type WaitList } from "./limit-partition.js";

/** A waiter item, as read back. */
export interface WaiterItem {
  readonly pk: string;
  readonly sk: string;
  readonly runId: string;
  readonly attempt: number;
  /** The run's `enqueueCount` when it entered: a waiter written again after a wake has a higher one. */
  readonly wakes: number;
  /** The run's wake-up fields, so waking it needs no read. */
  readonly jobName?: string;
  readonly priority: number;
  readonly queuePriority?: number;
  readonly parentRunId?: string;
  readonly parentAttempt?: number;
  readonly batchId?: string;
}

/** Where a run sorts in a waiter list (see the module comment). */
export function waiterSortKey(run: RunItem, queuePriority: number): string {
  return waiterSk(queuePriority, run.priority, dueMs(run), run.createdMs, run.runId);
}

/**
 * Puts `run` (Pending at its attempt) in waiter list `list`, and records on the run what
 * it waits for (and, in a sharded list, its waiter item's partition key `waitPk`). Returns
 * the run as it now is when it changed meanwhile (no longer Pending at that attempt, or
 * woken again), else `undefined`.
 */
export async function enterWaitList(
  store: RunStore,
  run: RunItem,
  list: WaitList,
  waitingFor: WaitingFor,
  queuePriority: number,
): Promise<RunItem | undefined> {
  const shard = waiterShardOf(run.runId, list.shards);
  const key = { pk: limitPk(list.key, shard, list.shards), sk: waiterSortKey(run, queuePriority) };
  const sharded = list.shards > 1;
  // The run first, then its waiter item: a waker that reads the item always finds the run
  // waiting there (else it would take the item for a stale one and delete it). Slots it
  // was handed when woken from another list are freed in the same write.
  const update = {
    TableName: store.tableName,
    Key: runKey(run.runId),
    UpdateExpression: `SET waitingFor = :wf, waitKey = :wk, waitSk = :ws${sharded ? ", waitPk = :wp" : ""} REMOVE ${run.slots ? "slots, " : ""}permits${!sharded && run.waitPk !== undefined ? ", waitPk" : ""}`,
    ConditionExpression: "#status = :pending AND attempt = :a AND enqueueCount = :w",
    ExpressionAttributeNames: { "#status": "status" },
    ExpressionAttributeValues: {
      ":wf": waitingFor,
      ":wk": list.key,
      ":ws": key.sk,
      ...(sharded ? { ":wp": key.pk } : {}),
      ":pending": "Pending",
      ":a": run.attempt,
      ":w": run.enqueueCount,
    },
  };
  if (run.slots) {
    const { slots: _reserved, ...released } = run;
    const outcome = await transactWrite(store.doc, [
      { Update: update },
      ...releaseItems(store.tableName, run, released),
    ]);
    if (!outcome.ok) return (await store.get(run.runId)) ?? run;
  } else if (!(await committed(store.doc.send(new UpdateCommand(update))))) {
    return (await store.get(run.runId)) ?? run;
  }
  const item: Omit<WaiterItem, "pk" | "sk"> & { kind: string; waitingFor: WaitingFor } = {
    kind: "waiter",
    runId: run.runId,
    attempt: run.attempt,
    wakes: run.enqueueCount,
    waitingFor,
    jobName: run.jobName,
    priority: run.priority,
    ...(run.queuePriority !== undefined ? { queuePriority: run.queuePriority } : {}),
    ...(run.parentRunId !== undefined ? { parentRunId: run.parentRunId } : {}),
    ...(run.parentAttempt !== undefined ? { parentAttempt: run.parentAttempt } : {}),
    ...(run.batchId !== undefined ? { batchId: run.batchId } : {}),
  };
  await store.doc.send(new PutCommand({ TableName: store.tableName, Item: { ...key, ...item } }));
  return undefined;
}

/** What waking needs. */
export interface WakeDeps {
  readonly store: RunStore;
  readonly dispatcher: Dispatcher;
}

/** A rate permit taken for a woken run (`RunItem.permits`): the window it was counted in. */
export interface HeldPermit {
  readonly name: string;
  readonly windowStart: number;
}

/** A rate permit a waker can hand a woken run: the items that count it (in its wake's transaction), and what the run records. */
export interface PermitGrant {
  readonly items: readonly TransactItem[];
  readonly held: HeldPermit;
}

/**
 * What a woken run is handed in its wake's transaction: a free slot of the limit (`slots`:
 * its slot count), or one of `permits` (one entry per permit: several entries may share
 * one shard's items, whose condition lets only as many commit as that shard had left).
 */
export type Grant = { readonly slots: number } | { readonly permits: readonly PermitGrant[] };

/**
 * Wakes up to `count` waiters of `list`, head first (at most one per permit with
 * `permits`). Returns how many it woke.
 *
 * Each woken run is handed what it waited for in the same transaction as its wake (a
 * reservation): a free slot of a concurrency limit (recorded in the run's `slots`) or a
 * rate permit (recorded in its `permits`). It is the one to start, so a second waker (the
 * stream's copy of a release) finds the limit full and wakes nobody, a newcomer cannot
 * take its place, and waiters start in exactly their order. A reserved run that waits
 * again, or ends, frees its slot like any holder (`enterWaitList`,
 * `store/limit-release.ts`); a permit, once counted, stays counted. A permit whose shard
 * turns out spent is dropped with every other of that shard, and the wake goes on with
 * the rest.
 */
export async function wakeNext(deps: WakeDeps, list: WaitList, count = 1, grant?: Grant): Promise<number> {
  const { store } = deps;
  let woken = 0;
  let permits = grant && "permits" in grant ? [...grant.permits] : undefined;
  const rounds = 10 + Math.ceil(Math.min(count, 100_000) / 100);
  for (let round = 0; woken < count && round < rounds; round++) {
    let free: number[] | undefined;
    let want = count - woken;
    if (grant && "slots" in grant) {
      const state = await readLimit(store, { ...list, max: grant.slots });
      free = freeSlots(state, grant.slots);
      want = Math.min(want, free.length);
      if (want === 0 || state.headWaiterSk === undefined) break;
    }
    if (permits) want = Math.min(want, permits.length);
    if (want === 0) break;
    const page = await headWaiters(store, list, Math.min(100, want));
    if (page.length === 0) break;
    const results = await Promise.all(
      page.map((w, i) => {
        const k = free?.[i];
        if (grant && "slots" in grant && k !== undefined) {
          const slot = takeSlot(store, { ...list, max: grant.slots }, k, w);
          return wakeOne(deps, list, w, { items: [slot.item], field: "slots", value: [slot.ref] });
        }
        const permit = permits?.[i];
        if (permit)
          return wakeOne(deps, list, w, { items: permit.items, field: "permits", value: [permit.held] });
        return wakeOne(deps, list, w, undefined);
      }),
    );
    woken += results.filter((r) => r === "woken").length;
    if (permits) {
      const spent = new Set(permits.filter((_, i) => results[i] === "full"));
      permits = permits.filter((p, i) => !spent.has(p) && results[i] !== "woken");
    }
    // A slot taken meanwhile ("full": another waker or a claimer picked it too) is not the
    // end: the next round reads the limit again and hands another free slot, if any.
  }
  return woken;
}

/** The first `n` waiters of `list` in claim order: the first `n` of each shard, merged. */
async function headWaiters(store: RunStore, list: WaitList, n: number): Promise<WaiterItem[]> {
  const shards = await Promise.all(
    limitPks(list).map(async (pk) => {
      const page: WaiterItem[] = [];
      for await (const w of store.query<WaiterItem>({
        KeyConditionExpression: "pk = :pk AND begins_with(sk, :w)",
        ExpressionAttributeValues: { ":pk": pk, ":w": waiterSkPrefix },
        ConsistentRead: true,
        Limit: n,
      })) {
        page.push(w);
        if (page.length >= n) break;
      }
      return page;
    }),
  );
  return shards
    .flat()
    .sort((a, b) => (a.sk < b.sk ? -1 : a.sk > b.sk ? 1 : 0))
    .slice(0, n);
}

async function wakeOne(
  deps: WakeDeps,
  list: WaitList,
  waiter: WaiterItem,
  reservation:
    | {
        readonly items: readonly TransactItem[];
        readonly field: "slots" | "permits";
        readonly value: unknown;
      }
    | undefined,
): Promise<"woken" | "stale" | "full"> {
  const { store, dispatcher } = deps;
  const update = {
    TableName: store.tableName,
    Key: runKey(waiter.runId),
    UpdateExpression: `SET enqueueCount = enqueueCount + :one${reservation ? `, ${reservation.field} = :grant` : ""} REMOVE waitingFor, waitKey, waitSk${list.shards > 1 ? ", waitPk" : ""}`,
    ConditionExpression:
      "#status = :pending AND attempt = :a AND enqueueCount = :w AND waitKey = :wk AND waitSk = :ws",
    ExpressionAttributeNames: { "#status": "status" },
    ExpressionAttributeValues: {
      ":one": 1,
      ":pending": "Pending",
      ":a": waiter.attempt,
      ":w": waiter.wakes,
      ":wk": list.key,
      ":ws": waiter.sk,
      ...(reservation ? { ":grant": reservation.value } : {}),
    },
  };
  let woken: boolean;
  if (reservation) {
    const outcome = await transactWrite(store.doc, [{ Update: update }, ...reservation.items]);
    if (!outcome.ok && outcome.failedConditions.some((i) => i > 0)) return "full";
    woken = outcome.ok;
  } else {
    woken = await committed(store.doc.send(new UpdateCommand(update)));
  }
  await deleteWaiter(store, waiter);
  if (!woken) return "stale";
  // The fast path; the table stream's consumer sends the same wake-up (same deduplication id).
  const { pk: _pk, sk: _sk, wakes, ...wakeUp } = waiter;
  await dispatcher.send({ ...wakeUp, enqueueCount: wakes + 1 }).catch(() => undefined);
  return "woken";
}

/** Deletes a waiter item unless the run entered again since (a newer wake count). */
async function deleteWaiter(store: RunStore, waiter: Pick<WaiterItem, "pk" | "sk" | "wakes">): Promise<void> {
  await committed(
    store.doc.send(
      new DeleteCommand({
        TableName: store.tableName,
        Key: { pk: waiter.pk, sk: waiter.sk },
        ConditionExpression: "attribute_not_exists(wakes) OR wakes <= :w",
        ExpressionAttributeValues: { ":w": waiter.wakes },
      }),
    ),
  );
}

/** How many runs wait in `list` (a count query per shard: 0.5 RU per 4 KB of waiters). */
export async function waiterCount(store: RunStore, list: WaitList): Promise<number> {
  const counts = await Promise.all(
    limitPks(list).map(async (pk) => {
      let count = 0;
      for await (const _ of store.query({
        KeyConditionExpression: "pk = :pk AND begins_with(sk, :w)",
        ExpressionAttributeValues: { ":pk": pk, ":w": waiterSkPrefix },
        ProjectionExpression: "sk",
      }))
        count++;
      return count;
    }),
  );
  return counts.reduce((a, b) => a + b, 0);
}
