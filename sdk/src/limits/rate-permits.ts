/**
 * Rate permits of one shard of a rate limit (`limits/rate-shards.ts`; a limit of one shard
 * is its own shard): per-window counters `RATE#<name>[#<shard>]` / `W#<windowStart>`
 * (`store/keys.ts`). A shard is counted like a rate limit of its own whose limit is the
 * shard's share.
 * The claim's transaction adds one to the current window's count, conditional on it
 * being under the budget (`domain/rate-window.ts`), so concurrent claims never overshoot;
 * a window's item expires by TTL three windows after it began. One strongly consistent
 * `Query` reads the current and the previous window (0.5 RU).
 *
 * A sliding limit's budget depends on the previous window's final count, and a claim that
 * counted its permit in that window just before it ended can commit just after another
 * claim read it. So the first permit of a sliding window also closes the previous one
 * (`closed`, conditional on the count it read), and a permit is never counted in a closed
 * window: a late claim fails its transaction and reads the counts again, and no start is
 * ever weighed against a previous count that grew afterwards. It costs one more item
 * write per window, not per start. A window closed by a worker whose clock runs ahead is
 * full to a worker whose clock lags; it waits for the next one.
 */
import { type RateRule, windowStart } from "../domain/rate-window.js";
import { rateWindowKey } from "../store/keys.js";
import type { RunStore } from "../store/run-store.js";
import type { TransactItem } from "../store/transact.js";

/** Limit key of a rate limit (its waiters' partition). */
export const rateLimitKey = (name: string) => `rate#${name}`;
/** The rate limit's name in a limit key made by {@link rateLimitKey}. */
export const rateNameOf = (limitKey: string) => limitKey.slice("rate#".length);

/** One shard of a rate limit: its counters' partition, and its share of the limit as `limit`. */
export interface RateShard extends RateRule {
  readonly pk: string;
}

/** Counts of the window containing `nowMs` and of the one before. */
export interface RateCounts {
  readonly start: number;
  /** Permits counted in the current window (the limit when the window is closed already: it takes no more). */
  readonly count: number;
  readonly prevCount: number;
  /** Whether the previous window is closed, its count final. */
  readonly prevClosed: boolean;
}

interface WindowItem {
  readonly sk: string;
  readonly count?: number;
  readonly closed?: boolean;
}

/** Reads the counts of `rate`'s current and previous window (one strongly consistent `Query`). */
export async function readRateCounts(store: RunStore, rate: RateShard, nowMs: number): Promise<RateCounts> {
  const start = windowStart(nowMs, rate.windowMs);
  const prevSk = rateWindowKey(rate.pk, start - rate.windowMs).sk;
  const currentSk = rateWindowKey(rate.pk, start).sk;
  let current: WindowItem | undefined;
  let prev: WindowItem | undefined;
  for await (const item of store.query<WindowItem>({
    KeyConditionExpression: "pk = :pk AND sk BETWEEN :prev AND :cur",
    ExpressionAttributeValues: { ":pk": rate.pk, ":prev": prevSk, ":cur": currentSk },
    ConsistentRead: true,
  })) {
    if (item.sk === currentSk) current = item;
    else prev = item;
  }
  const count = current?.count ?? 0;
  return {
    start,
    count: current?.closed ? Math.max(count, rate.limit) : count,
    prevCount: prev?.count ?? 0,
    prevClosed: prev?.closed === true,
  };
}

/**
 * The claim transaction's items that take one permit of the current window of `counts`
 * while its count is under `budget` (and, for a sliding limit, close the previous window
 * at the count read, unless it is closed already).
 */
export function takePermit(
  store: RunStore,
  rate: RateShard,
  counts: RateCounts,
  budget: number,
): TransactItem[] {
  const take: TransactItem = {
    Update: {
      TableName: store.tableName,
      Key: rateWindowKey(rate.pk, counts.start),
      UpdateExpression: "ADD #c :one SET kind = :kind, expiresAt = :exp",
      ConditionExpression: "(attribute_not_exists(#c) OR #c < :budget) AND attribute_not_exists(closed)",
      ExpressionAttributeNames: { "#c": "count" },
      ExpressionAttributeValues: {
        ":one": 1,
        ":kind": "rate",
        ":budget": budget,
        ":exp": expiresAt(rate, counts.start),
      },
    },
  };
  if (rate.kind !== "sliding" || counts.prevClosed) return [take];
  const prevStart = counts.start - rate.windowMs;
  const close: TransactItem = {
    Update: {
      TableName: store.tableName,
      Key: rateWindowKey(rate.pk, prevStart),
      UpdateExpression: "SET closed = :true, kind = :kind, expiresAt = :exp",
      ConditionExpression: counts.prevCount === 0 ? "attribute_not_exists(#c)" : "#c = :prev",
      ExpressionAttributeNames: { "#c": "count" },
      ExpressionAttributeValues: {
        ":true": true,
        ":kind": "rate",
        ":exp": expiresAt(rate, prevStart),
        ...(counts.prevCount === 0 ? {} : { ":prev": counts.prevCount }),
      },
    },
  };
  return [take, close];
}

/** A window's item expires by TTL (whole seconds) three windows after it began. */
const expiresAt = (rate: RateShard, start: number) => Math.ceil((start + 3 * rate.windowMs) / 1000);
