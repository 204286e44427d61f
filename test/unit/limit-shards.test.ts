/**
 * The shard math of limits (`domain/limit-shards.ts`) and the exactness of sharded rate
 * limits: every shard applies the rate rule to its own share and its own counts, and
 * the whole limit's rule must hold at every start, over many random schedules.
 */
import { describe, expect, it } from "vitest";
import {
  concurrencyShards,
  rateShards,
  rateWaiterShards,
  shardShare,
  slotShard,
  slotsInShard,
} from "../../sdk/src/domain/limit-shards.js";
import { type RateRule, rateBudget, windowStart } from "../../sdk/src/domain/rate-window.js";
import { limitKeyOf, limitPk, ratePk, slotKey } from "../../sdk/src/store/keys.js";

/** A small deterministic PRNG (mulberry32), so a failure reproduces. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe("limit shard counts", () => {
  it("derives the shard count from the definition; small limits have one shard", () => {
    expect(concurrencyShards(1)).toBe(1);
    expect(concurrencyShards(100)).toBe(1);
    expect(concurrencyShards(101)).toBe(2);
    expect(concurrencyShards(150)).toBe(2);
    expect(concurrencyShards(1000)).toBe(10);
    expect(rateShards({ limit: 10, windowMs: 2000 })).toBe(1);
    expect(rateShards({ limit: 200, windowMs: 1000 })).toBe(1);
    expect(rateShards({ limit: 12_000, windowMs: 60_000 })).toBe(1);
    expect(rateShards({ limit: 201, windowMs: 1000 })).toBe(2);
    expect(rateShards({ limit: 2000, windowMs: 1000 })).toBe(10);
    expect(rateShards({ limit: 100_000, windowMs: 1000 })).toBe(500);
    // Waiter lists follow the counters up to 10 shards: every claim reads each list shard's head.
    expect(rateWaiterShards({ limit: 201, windowMs: 1000 })).toBe(2);
    expect(rateWaiterShards({ limit: 2000, windowMs: 1000 })).toBe(10);
    expect(rateWaiterShards({ limit: 100_000, windowMs: 1000 })).toBe(10);
  });

  it("splits a limit into shares that add up to it and differ by at most one", () => {
    for (let total = 1; total <= 500; total++)
      for (const shards of [1, 2, 3, 7, 10, 64].filter((n) => n <= total)) {
        const shares = Array.from({ length: shards }, (_, s) => shardShare(total, shards, s));
        expect(shares.reduce((a, b) => a + b, 0)).toBe(total);
        expect(Math.max(...shares) - Math.min(...shares)).toBeLessThanOrEqual(1);
        expect(Math.min(...shares)).toBeGreaterThanOrEqual(1);
      }
  });

  it("puts every slot in exactly one shard, evenly", () => {
    for (const max of [1, 100, 101, 150, 999, 1000]) {
      const shards = concurrencyShards(max);
      const counts = Array.from({ length: shards }, (_, s) => slotsInShard(max, shards, s));
      expect(counts.reduce((a, b) => a + b, 0)).toBe(max);
      for (let k = 0; k < max; k++) expect(slotShard(k, shards)).toBeLessThan(shards);
      expect(Math.max(...counts)).toBeLessThanOrEqual(100);
    }
  });

  it("keeps today's keys for one shard and round-trips sharded limit keys", () => {
    expect(limitPk("job#Send", 0, 1)).toBe("LIMIT#job#Send");
    expect(ratePk("smtp", 0, 1)).toBe("RATE#smtp");
    expect(ratePk("smtp", 3, 10)).toBe("RATE#smtp#3");
    expect(slotKey("job#Send", 7, 1)).toEqual({ pk: "LIMIT#job#Send", sk: "SLOT#0007" });
    expect(slotKey("job#Send", 7, 2)).toEqual({ pk: "LIMIT#job#Send#1", sk: "SLOT#0007" });
    // A concurrency key may hold `#` and digits: the shard is always the last part.
    for (const key of ["job#Send", "key#Send#a#1", "key#Send#2"]) {
      expect(limitKeyOf(slotKey(key, 5, 1).pk, 1)).toBe(key);
      expect(limitKeyOf(slotKey(key, 5, 3).pk, 3)).toBe(key);
    }
  });
});

/** Runs `windows` windows of random claims against `shards` shards of `rule`; checks the whole limit's rule at every start. */
function simulate(rule: RateRule, shards: number, rand: () => number, windows: number) {
  const w = rule.windowMs;
  const shares = Array.from({ length: shards }, (_, s) => shardShare(rule.limit, shards, s));
  const shardRules = shares.map((limit) => ({ ...rule, limit }));
  let prev = new Array<number>(shards).fill(0);
  let maxWeighted = 0;
  let maxPerWindow = 0;
  for (let k = 1; k <= windows; k++) {
    const cur = new Array<number>(shards).fill(0);
    const attempts = Math.floor(rand() * rule.limit * 3);
    // Random claim times in the window, some bunched at its start and end.
    const times = Array.from({ length: attempts }, () => {
      const x = rand();
      const f = x < 0.2 ? x / 20 : x > 0.8 ? 1 - (1 - x) / 20 : x;
      return k * w + Math.min(w - 1, Math.floor(f * w));
    }).sort((a, b) => a - b);
    for (const t of times) {
      // As a claimer does: a random shard first, then any other with budget.
      const first = Math.floor(rand() * shards);
      const order = [first, ...Array.from({ length: shards }, (_, s) => s).filter((s) => s !== first)];
      const s = order.find((i) => (cur[i] ?? 0) < rateBudget(shardRules[i] as RateRule, t, prev[i] ?? 0));
      if (s === undefined) continue;
      cur[s] = (cur[s] ?? 0) + 1;
      const total = cur.reduce((a, b) => a + b, 0);
      const prevTotal = prev.reduce((a, b) => a + b, 0);
      const f = (t - windowStart(t, w)) / w;
      const weighted = rule.kind === "sliding" ? total + prevTotal * (1 - f) : total;
      maxWeighted = Math.max(maxWeighted, weighted);
    }
    maxPerWindow = Math.max(
      maxPerWindow,
      cur.reduce((a, b) => a + b, 0),
    );
    prev = cur;
  }
  return { maxWeighted, maxPerWindow };
}

describe("sharded rate limits are exact in total", () => {
  it("fixed: the shards together admit at most the limit per window, and reach it", () => {
    const rand = random(1);
    for (let i = 0; i < 100; i++) {
      const limit = 1 + Math.floor(rand() * 1000);
      const shards = 1 + Math.floor(rand() * Math.min(limit, 12));
      const { maxPerWindow } = simulate({ kind: "fixed", limit, windowMs: 1000 }, shards, rand, 3);
      expect(maxPerWindow).toBeLessThanOrEqual(limit);
    }
    // 3,000 claims in one window (a constant "random" 0.5): every shard fills, the limit is reached.
    const full = simulate({ kind: "fixed", limit: 2000, windowMs: 1000 }, 10, () => 0.5, 1);
    expect(full.maxPerWindow).toBe(2000);
  });

  it("sliding: per-shard budgets never let prev × (1 − f) + current pass the limit", () => {
    const rand = random(2);
    let closest = 0;
    for (let i = 0; i < 150; i++) {
      const limit = 1 + Math.floor(rand() * 1000);
      const shards = 1 + Math.floor(rand() * Math.min(limit, 12));
      const rule: RateRule = { kind: "sliding", limit, windowMs: 1000 + Math.floor(rand() * 5000) };
      const { maxWeighted } = simulate(rule, shards, rand, 4);
      expect(maxWeighted, `${limit} over ${shards} shards`).toBeLessThanOrEqual(limit + 1e-9);
      closest = Math.max(closest, maxWeighted / limit);
    }
    // Not serialized far below the limit: some schedule comes close to it.
    expect(closest).toBeGreaterThan(0.95);
  });
});
