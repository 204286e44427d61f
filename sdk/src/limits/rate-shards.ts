/**
 * A rate limit over its shards. A limit whose peak rate `limit / window` is above 200
 * starts/s spreads its window counters (and its waiter list) over
 * N = ⌈rate / 200⌉ shards (`domain/limit-shards.ts`; its waiters over at most 10); shard `s` admits its share
 * `⌊L/N⌋ + (s < L mod N ? 1 : 0)` per window, by the same rule as the whole limit
 * (`domain/rate-window.ts`) applied to the shard's own counts. The shares add up to `L`,
 * so:
 *
 * - fixed: each shard admits at most its share per aligned window, the total at most `L`;
 * - sliding: at any time `t` in a window (`f` elapsed of it), a shard that admitted a start
 *   at `t' ≤ t` in this window had `cur_s ≤ share_s − ⌈prev_s·(1 − f')⌉ ≤ share_s − prev_s·(1 − f)`,
 *   and one that admitted none has `cur_s = 0` and `prev_s ≤ share_s`; summing over the shards,
 *   `cur + prev·(1 − f) ≤ L` at every start: the global rule holds exactly. Each shard closes its own previous
 *   window with its first permit (`rate-permits.ts`), so no shard's `prev_s` grows after it was weighed.
 *
 * A claimer reads one shard at random (one `Query`, as an unsharded limit); only when that
 * shard has no budget does it read the others, in parallel, and it takes a permit in any
 * with budget. A run waits only when no shard has one. Rounding each shard's carried share
 * up may leave a sharded sliding limit up to N − 1 starts short of `L` in a window.
 */
import { rateShards, rateWaiterShards, shardNumbers, shardShare } from "../domain/limit-shards.js";
import { nextPermitAt, rateBudget } from "../domain/rate-window.js";
import type { RateLimitDefinition } from "../jobs/rate-limit-definition.js";
import { ratePk } from "../store/keys.js";
import type { RunStore } from "../store/run-store.js";
import type { TransactItem } from "../store/transact.js";
import type { WaitList } from "./limit-partition.js";
import { type RateCounts, type RateShard, rateLimitKey, readRateCounts, takePermit } from "./rate-permits.js";

/** Every shard of `rate`, shard 0 first (one, `RATE#<name>` with the whole limit, up to 200 starts/s). */
export function rateShardsOf(rate: RateLimitDefinition): RateShard[] {
  const shards = rateShards(rate);
  return shardNumbers(shards).map((s) => ({
    pk: ratePk(rate.name, s, shards),
    kind: rate.kind,
    limit: shardShare(rate.limit, shards, s),
    windowMs: rate.windowMs,
  }));
}

/** A rate limit's waiter list: sharded as its counters are, over at most 10 shards (`rateWaiterShards`). */
export function rateWaitList(rate: RateLimitDefinition): WaitList {
  return { key: rateLimitKey(rate.name), shards: rateWaiterShards(rate) };
}

/** One shard's counts as read, and its budget at the time read. */
export interface ShardCounts {
  readonly shard: RateShard;
  readonly counts: RateCounts;
  readonly budget: number;
}

/** Permits the shard has left at the time read. */
export const available = (read: ShardCounts) => Math.max(0, read.budget - read.counts.count);

async function readShard(store: RunStore, shard: RateShard, nowMs: number): Promise<ShardCounts> {
  const counts = await readRateCounts(store, shard, nowMs);
  return { shard, counts, budget: rateBudget(shard, nowMs, counts.prevCount) };
}

/** Reads every shard of `rate`, in parallel. */
export function readAllShards(
  store: RunStore,
  rate: RateLimitDefinition,
  nowMs: number,
): Promise<ShardCounts[]> {
  return Promise.all(rateShardsOf(rate).map((shard) => readShard(store, shard, nowMs)));
}

/** What {@link findPermit} found. */
export interface PermitSearch {
  /** The claim transaction's items that take a permit, when a shard read has budget. */
  readonly take: TransactItem[] | undefined;
  /** The earliest time one more start fits in a shard read (`nowMs` when one has budget). */
  readonly nextAt: number;
}

/** Looks for a permit of `rate` at `nowMs`: a random shard first, then, if it has none, all the others. */
export async function findPermit(
  store: RunStore,
  rate: RateLimitDefinition,
  nowMs: number,
): Promise<PermitSearch> {
  const shards = rateShardsOf(rate);
  const first = Math.floor(Math.random() * shards.length);
  const firstRead = await readShard(store, shards[first] as RateShard, nowMs);
  const reads =
    available(firstRead) > 0
      ? [firstRead]
      : [
          firstRead,
          ...(await Promise.all(
            shards.filter((_, s) => s !== first).map((shard) => readShard(store, shard, nowMs)),
          )),
        ];
  const open = reads.filter((read) => available(read) > 0);
  const pick = open[Math.floor(Math.random() * open.length)];
  return {
    take: pick && takePermit(store, pick.shard, pick.counts, pick.budget),
    nextAt: nextPermitOf(reads, nowMs),
  };
}

/** The earliest time one more start fits in any of `reads`, after `taken[i]` more permits counted in read `i`. */
export function nextPermitOf(
  reads: readonly ShardCounts[],
  nowMs: number,
  taken: readonly number[] = [],
): number {
  return Math.min(
    ...reads.map((read, i) =>
      nextPermitAt(read.shard, nowMs, read.counts.count + (taken[i] ?? 0), read.counts.prevCount),
    ),
  );
}
