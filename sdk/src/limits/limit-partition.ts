/**
 * Reading and taking a limit's slots. A limit's slots and waiters share its partitions
 * (`LIMIT#<limitKey>`, or one per shard for a limit of more than 100 slots: `store/keys.ts`,
 * `domain/limit-shards.ts`): one strongly consistent `Query` per shard, with `Limit` = the
 * shard's slots + 1, reads its held slots and its first waiter (about 0.5 RU for a small
 * limit). The shards are read in parallel; the limit's head waiter is the first of the
 * shards' heads, so claim order is the same as with one partition.
 */
import { concurrencyShards, shardNumbers, slotsInShard } from "../domain/limit-shards.js";
import { limitKeyOf, limitPk, slotKey, slotSkPrefix, waiterSkPrefix } from "../store/keys.js";
import type { RunItem, SlotRef } from "../store/run-item.js";
import type { RunStore } from "../store/run-store.js";
import type { TransactItem } from "../store/transact.js";

/** A waiter list's partitions: its limit key and its shard count. */
export interface WaitList {
  readonly key: string;
  readonly shards: number;
}

/** A limit's partitions and its slot count (0 for a rate limit's waiter list, which has no slots). */
export interface LimitPartitions extends WaitList {
  readonly max: number;
}

/** A limit as read now: which slots are held and the first waiter's sort key. */
export interface LimitState {
  readonly held: ReadonlySet<number>;
  readonly headWaiterSk: string | undefined;
}

/** The limit a slot ref (`RunItem.slots`) belongs to: its shard count follows from its slot count. */
export function limitOfSlot(slot: SlotRef): LimitPartitions {
  const shards = concurrencyShards(slot.max);
  return { key: limitKeyOf(slot.pk, shards), max: slot.max, shards };
}

/** The partition keys of a limit's shards, shard 0 first. */
export const limitPks = (list: WaitList): string[] =>
  shardNumbers(list.shards).map((s) => limitPk(list.key, s, list.shards));

/** Reads the held slots and the head waiter of `limit`, every shard in parallel. */
export async function readLimit(store: RunStore, limit: LimitPartitions): Promise<LimitState> {
  const shards = await Promise.all(
    limitPks(limit).map((pk, s) => readShard(store, pk, slotsInShard(limit.max, limit.shards, s))),
  );
  const held = new Set(shards.flatMap((shard) => shard.held));
  const heads = shards.flatMap((shard) => shard.headWaiterSk ?? []).sort();
  return { held, headWaiterSk: heads[0] };
}

async function readShard(
  store: RunStore,
  pk: string,
  slots: number,
): Promise<{ held: number[]; headWaiterSk: string | undefined }> {
  const held: number[] = [];
  for await (const item of store.query<{ sk: string }>({
    KeyConditionExpression: "pk = :pk",
    ExpressionAttributeValues: { ":pk": pk },
    ProjectionExpression: "sk",
    ConsistentRead: true,
    Limit: slots + 1,
  })) {
    if (item.sk.startsWith(slotSkPrefix)) held.push(Number(item.sk.slice(slotSkPrefix.length)));
    else if (item.sk.startsWith(waiterSkPrefix)) return { held, headWaiterSk: item.sk };
  }
  return { held, headWaiterSk: undefined };
}

/** The slots of `state` not held, in order. */
export function freeSlots(state: LimitState, max: number): number[] {
  return Array.from({ length: max }, (_, k) => k).filter((k) => !state.held.has(k));
}

/** A free slot of `state`, picked at random (so concurrent claimers rarely pick the same, and the shards share the writes), or `undefined` when all are held. */
export function freeSlot(state: LimitState, max: number): number | undefined {
  const free = freeSlots(state, max);
  return free[Math.floor(Math.random() * free.length)];
}

/** The claim transaction's item that takes slot `k` of `limit` for `run` (fails if the slot was taken meanwhile). */
export function takeSlot(
  store: RunStore,
  limit: LimitPartitions,
  k: number,
  run: Pick<RunItem, "runId" | "attempt">,
): { item: TransactItem; ref: SlotRef } {
  const key = slotKey(limit.key, k, limit.shards);
  const ref = { ...key, max: limit.max };
  return {
    ref,
    item: {
      Put: {
        TableName: store.tableName,
        Item: { ...key, kind: "slot", runId: run.runId, attempt: run.attempt + 1 },
        ConditionExpression: "attribute_not_exists(pk)",
      },
    },
  };
}
