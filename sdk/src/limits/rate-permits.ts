/**
 * Rate permits: per-window counters `RATE#<name>` / `W#<windowStart>` (`store/keys.ts`).
 * The claim's transaction adds one to the current window's count, conditional on it
 * being under the budget (`domain/rate-window.ts`), so concurrent claims never overshoot;
 * a window's item expires by TTL three windows after it began. One strongly consistent
 * `Query` reads the current and the previous window (0.5 RU).
 */
import { windowStart } from "../domain/rate-window.js";
import type { RateLimitDefinition } from "../jobs/rate-limit-definition.js";
import { ratePkPrefix, rateWindowKey } from "../store/keys.js";
import type { RunStore } from "../store/run-store.js";
import type { TransactItem } from "../store/transact.js";

/** Limit key of a rate limit (its waiters' partition). */
export const rateLimitKey = (name: string) => `rate#${name}`;
/** The rate limit's name in a limit key made by {@link rateLimitKey}. */
export const rateNameOf = (limitKey: string) => limitKey.slice("rate#".length);

/** Counts of the window containing `nowMs` and of the one before. */
export interface RateCounts {
  readonly start: number;
  readonly count: number;
  readonly prevCount: number;
}

export async function readRateCounts(
  store: RunStore,
  rate: RateLimitDefinition,
  nowMs: number,
): Promise<RateCounts> {
  const start = windowStart(nowMs, rate.windowMs);
  const prev = rateWindowKey(rate.name, start - rate.windowMs).sk;
  const current = rateWindowKey(rate.name, start).sk;
  let count = 0;
  let prevCount = 0;
  for await (const item of store.query<{ sk: string; count?: number }>({
    KeyConditionExpression: "pk = :pk AND sk BETWEEN :prev AND :cur",
    ExpressionAttributeValues: { ":pk": `${ratePkPrefix}${rate.name}`, ":prev": prev, ":cur": current },
    ConsistentRead: true,
  })) {
    if (item.sk === current) count = item.count ?? 0;
    else prevCount = item.count ?? 0;
  }
  return { start, count, prevCount };
}

/** The claim transaction's item that takes one permit of the window at `start`, while its count is under `budget`. */
export function takePermit(
  store: RunStore,
  rate: RateLimitDefinition,
  start: number,
  budget: number,
): TransactItem {
  return {
    Update: {
      TableName: store.tableName,
      Key: rateWindowKey(rate.name, start),
      UpdateExpression: "ADD #c :one SET kind = :kind, expiresAt = :exp",
      ConditionExpression: "attribute_not_exists(#c) OR #c < :budget",
      ExpressionAttributeNames: { "#c": "count" },
      ExpressionAttributeValues: {
        ":one": 1,
        ":kind": "rate",
        ":budget": budget,
        ":exp": Math.ceil((start + 3 * rate.windowMs) / 1000),
      },
    },
  };
}
