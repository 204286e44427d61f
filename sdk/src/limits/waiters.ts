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
 * Lost wake-ups: a run that found its limit full enters the list, then reads the limit
 * again; a holder that frees its slot reads the list after its write (from the stream).
 * Whichever comes second sees the other, so a slot never frees while a waiter sleeps.
 */

import { DeleteCommand, PutCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import type { WaitingFor } from "../domain/run.js";
import type { Dispatcher } from "../queue/dispatcher.js";
import { isConditionFailed } from "../store/condition-failed.js";
import { limitPk, runKey, waiterSk, waiterSkPrefix } from "../store/keys.js";
import { releaseItems } from "../store/limit-release.js";
import { dueMs, type RunItem } from "../store/run-item.js";
import type { RunStore } from "../store/run-store.js";
import { type TransactItem, transactWrite } from "../store/transact.js";
import { readLimit, takeSlot } from "./limit-partition.js";

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
 * Puts `run` (Pending at its attempt) in the waiter list of `limitKey`, and records on
 * the run what it waits for. Returns the run as it now is when it changed meanwhile (no
 * longer Pending at that attempt, or woken again), else `undefined`.
 */
export async function enterWaitList(
  store: RunStore,
  run: RunItem,
  limitKey: string,
  waitingFor: WaitingFor,
  queuePriority: number,
): Promise<RunItem | undefined> {
  const key = { pk: limitPk(limitKey), sk: waiterSortKey(run, queuePriority) };
  // The run first, then its waiter item: a waker that reads the item always finds the run
  // waiting there (else it would take the item for a stale one and delete it). Slots it
  // was handed when woken from another list are freed in the same write.
  const update = {
    TableName: store.tableName,
    Key: runKey(run.runId),
    UpdateExpression: `SET waitingFor = :wf, waitKey = :wk, waitSk = :ws REMOVE ${run.slots ? "slots, " : ""}permits`,
    ConditionExpression: "#status = :pending AND attempt = :a AND enqueueCount = :w",
    ExpressionAttributeNames: { "#status": "status" },
    ExpressionAttributeValues: {
      ":wf": waitingFor,
      ":wk": limitKey,
      ":ws": key.sk,
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
  } else {
    try {
      await store.doc.send(new UpdateCommand(update));
    } catch (error) {
      if (!isConditionFailed(error)) throw error;
      return (await store.get(run.runId)) ?? run;
    }
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

/** What a woken run is handed in its wake's transaction: a free slot of the limit, or a rate permit. */
export type Grant =
  | { readonly slots: number }
  | { readonly permit: { readonly items: readonly TransactItem[]; readonly held: HeldPermit } };

/**
 * Wakes up to `count` waiters of `limitKey`, head first. Returns how many it woke.
 *
 * Each woken run is handed what it waited for in the same transaction as its wake (a
 * reservation): a free slot of a concurrency limit (`{ slots }`: its slot count,
 * recorded in the run's `slots`) or a rate permit (recorded in its `permits`). It is
 * the one to start, so a second waker (the stream's copy of a release) finds the limit
 * full and wakes nobody, a newcomer cannot take its place, and waiters start in exactly
 * their order. A reserved run that waits again, or ends, frees its slot like any holder
 * (`enterWaitList`, `store/limit-release.ts`); a permit, once counted, stays counted.
 */
export async function wakeNext(deps: WakeDeps, limitKey: string, count = 1, grant?: Grant): Promise<number> {
  const { store } = deps;
  let woken = 0;
  const rounds = 10 + Math.ceil(Math.min(count, 100_000) / 100);
  for (let round = 0; woken < count && round < rounds; round++) {
    let free: number[] | undefined;
    let want = count - woken;
    if (grant && "slots" in grant) {
      const state = await readLimit(store, limitKey, grant.slots);
      free = Array.from({ length: grant.slots }, (_, k) => k).filter((k) => !state.held.has(k));
      want = Math.min(want, free.length);
      if (want === 0 || state.headWaiterSk === undefined) break;
    }
    const page: WaiterItem[] = [];
    for await (const w of store.query<WaiterItem>({
      KeyConditionExpression: "pk = :pk AND begins_with(sk, :w)",
      ExpressionAttributeValues: { ":pk": limitPk(limitKey), ":w": waiterSkPrefix },
      ConsistentRead: true,
      Limit: Math.min(100, want),
    })) {
      page.push(w);
      if (page.length >= want) break;
    }
    if (page.length === 0) break;
    const results = await Promise.all(
      page.map((w, i) => {
        const k = free?.[i];
        if (grant && "slots" in grant && k !== undefined) {
          const slot = takeSlot(store, limitKey, k, grant.slots, w);
          return wakeOne(deps, limitKey, w, { items: [slot.item], field: "slots", value: [slot.ref] });
        }
        if (grant && "permit" in grant)
          return wakeOne(deps, limitKey, w, {
            items: grant.permit.items,
            field: "permits",
            value: [grant.permit.held],
          });
        return wakeOne(deps, limitKey, w, undefined);
      }),
    );
    woken += results.filter((r) => r === "woken").length;
    if (results.includes("full")) break;
  }
  return woken;
}

async function wakeOne(
  deps: WakeDeps,
  limitKey: string,
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
    UpdateExpression: `SET enqueueCount = enqueueCount + :one${reservation ? `, ${reservation.field} = :grant` : ""} REMOVE waitingFor, waitKey, waitSk`,
    ConditionExpression:
      "#status = :pending AND attempt = :a AND enqueueCount = :w AND waitKey = :wk AND waitSk = :ws",
    ExpressionAttributeNames: { "#status": "status" },
    ExpressionAttributeValues: {
      ":one": 1,
      ":pending": "Pending",
      ":a": waiter.attempt,
      ":w": waiter.wakes,
      ":wk": limitKey,
      ":ws": waiter.sk,
      ...(reservation ? { ":grant": reservation.value } : {}),
    },
  };
  let woken = false;
  if (reservation) {
    const outcome = await transactWrite(store.doc, [{ Update: update }, ...reservation.items]);
    if (!outcome.ok && outcome.failedConditions.some((i) => i > 0)) return "full";
    woken = outcome.ok;
  } else {
    try {
      await store.doc.send(new UpdateCommand(update));
      woken = true;
    } catch (error) {
      if (!isConditionFailed(error)) throw error;
    }
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
  try {
    await store.doc.send(
      new DeleteCommand({
        TableName: store.tableName,
        Key: { pk: waiter.pk, sk: waiter.sk },
        ConditionExpression: "attribute_not_exists(wakes) OR wakes <= :w",
        ExpressionAttributeValues: { ":w": waiter.wakes },
      }),
    );
  } catch (error) {
    if (!isConditionFailed(error)) throw error;
  }
}

/** How many runs wait on `limitKey` (a count query: 0.5 RU per 4 KB of waiters). */
export async function waiterCount(store: RunStore, limitKey: string): Promise<number> {
  let count = 0;
  for await (const _ of store.query({
    KeyConditionExpression: "pk = :pk AND begins_with(sk, :w)",
    ExpressionAttributeValues: { ":pk": limitPk(limitKey), ":w": waiterSkPrefix },
    ProjectionExpression: "sk",
  }))
    count++;
  return count;
}
