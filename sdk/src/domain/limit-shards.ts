/**
 * How many partitions (shards) one limit key's items spread over, derived from the
 * limit's definition alone, so every worker computes the same layout. Pure: no I/O.
 *
 * A DynamoDB partition takes about 1,000 WCU/s, and an item written in a transaction
 * costs 2 WCU. A concurrency limit writes its partition twice per start in transactions
 * (the slot's `Put` at claim, its `Delete` at release: 4 WCU), about 250 starts/s; a rate
 * window counter once per start (2 WCU), about 500 starts/s. The thresholds below keep
 * each shard well under that:
 *
 * - concurrency: one shard per {@link slotsPerShard} slots (`max` is at most 1,000, so at
 *   most 10 shards); a limit of up to 100 slots has one shard, today's single partition;
 * - rate: one shard per {@link startsPerRateShard} starts per second of the limit's peak
 *   rate `limit / window`; a limit of up to 200 starts/s has one shard.
 *
 * A shard of a rate limit admits its share of the limit ({@link shardShare}); the shares
 * add up to the limit exactly.
 */
import type { RateRule } from "./rate-window.js";

/** Slots per concurrency shard: a limit with more slots spreads them over `⌈max / 100⌉` partitions. */
export const slotsPerShard = 100;

/** Starts per second one rate shard is sized for: a faster limit spreads over `⌈rate / 200⌉` partitions. */
export const startsPerRateShard = 200;

/** Shards of a concurrency limit with `max` slots (1 up to 100 slots). */
export function concurrencyShards(max: number): number {
  return Math.max(1, Math.ceil(max / slotsPerShard));
}

/** Shards of a rate limit: one per 200 starts/s of `limit / window`, never more than `limit` (each shard admits at least one). */
export function rateShards(rule: Pick<RateRule, "limit" | "windowMs">): number {
  const perSecond = (rule.limit * 1000) / rule.windowMs;
  return Math.min(rule.limit, Math.max(1, Math.ceil(perSecond / startsPerRateShard)));
}

/**
 * Most shards of a waiter list. A waiting run writes its list twice (its waiter's `Put`
 * and `Delete`, 1 WU each: about 500 waiting runs/s per shard), and every claim and wake
 * reads every shard's head to keep claim order exact, so a rate limit's waiters spread
 * over at most 10 shards (about 5,000 waiting runs/s) however many counter shards it has.
 */
export const maxWaiterShards = 10;

/** Shards of a rate limit's waiter list: as many as its counters, at most {@link maxWaiterShards}. */
export function rateWaiterShards(rule: Pick<RateRule, "limit" | "windowMs">): number {
  return Math.min(maxWaiterShards, rateShards(rule));
}

/** Shard `shard`'s part of `total` split over `shards`: `⌊total/shards⌋`, one more for the first `total mod shards`. */
export function shardShare(total: number, shards: number, shard: number): number {
  return Math.floor(total / shards) + (shard < total % shards ? 1 : 0);
}

/** The shard that holds slot `k` of a limit with `shards` shards. */
export const slotShard = (k: number, shards: number) => k % shards;

/** How many of the slots `0 … max − 1` live in `shard` (those with `k mod shards = shard`). */
export function slotsInShard(max: number, shards: number, shard: number): number {
  return Math.max(0, Math.ceil((max - shard) / shards));
}

/** Every shard number of a key with `shards` shards, for readers that read them all. */
export const shardNumbers = (shards: number): number[] => Array.from({ length: shards }, (_, s) => s);
