/**
 * Sharded limits (`domain/limit-shards.ts`) on DynamoDB Local and fauxqs, end to end:
 *
 * - a sliding rate limit of 402 per 2 s (201 starts/s: 2 shards of 201) whose window is nearly
 *   spent when 30 runs come due: from the runs' `startedAt` (the claim time the permit was
 *   counted at), at most 402 starts per aligned window and
 *   `prev × (1 − elapsed/window) + current ≤ 402` at every start, over both shards, and
 *   both shards giving permits, none past its share;
 * - a fixed rate limit of 2000 per 1 s (10 shards): its window counters' writes spread
 *   over the 10 partitions (the busiest takes about 1/10);
 * - a job limit of 101 (2 shards of 51 and 50 slots) with handlers held on a gate: never
 *   exceeded, reached, `getLimits()` counts every shard, waiters in both shards start in
 *   claim order, a canceled waiter leaves its shard, each shard takes about half the limit's writes as it fills and as it
 *   frees, and no slot or waiter is left in any shard at the end.
 */
import { GetCommand, PutCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { afterEach, describe, expect, it } from "vitest";
import { JobApp, type JobRun } from "../../sdk/src/index.js";
import { jobLimitKey } from "../../sdk/src/limits/concurrency-limits.js";
import { limitPks } from "../../sdk/src/limits/limit-partition.js";
import { rateShardsOf } from "../../sdk/src/limits/rate-shards.js";
import { rateWindowKey } from "../../sdk/src/store/keys.js";
import { recordPartitionWrites, unitsUnder } from "../support/partition-writes.js";
import { startTestSystem, type TestSystem } from "../support/test-system.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let system: TestSystem | undefined;
afterEach(async () => {
  await system?.stop();
  system = undefined;
});

/** Triggers `n` runs, 50 at a time. */
async function triggerMany<T>(n: number, trigger: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < n; i += 50)
    out.push(...(await Promise.all(Array.from({ length: Math.min(50, n - i) }, (_, j) => trigger(i + j)))));
  return out;
}

/** Start times (ms) of runs that all succeeded on their first attempt, earliest first (waited for one at a time: one poller). */
async function startTimes(s: TestSystem, runIds: readonly string[]): Promise<number[]> {
  const done: JobRun[] = [];
  for (const id of runIds) done.push(await s.client.wait(id));
  expect(done.every((r) => r.status === "Succeeded" && r.attempt === 1)).toBe(true);
  return done.map((r) => Date.parse(r.startedAt ?? "")).sort((a, b) => a - b);
}

/** Waits until `check` holds (polling every 50 ms, up to `ms`). */
async function until(check: () => Promise<boolean>, what: string, ms = 20_000): Promise<void> {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(50)) if (await check()) return;
  throw new Error(`timed out waiting for ${what}`);
}

/** A statistical bound for the busiest of `shards` partitions sharing `total` writes at random: the mean plus 4 standard deviations. */
const busiestBound = (total: number, shards: number) =>
  total / shards + 4 * Math.sqrt(total * (1 / shards) * (1 - 1 / shards));

describe("sharded rate limits", () => {
  it("sliding 402 per 2 s over 2 shards: at most 402 per window and the sliding rule at every start", async () => {
    const windowMs = 2000;
    const limit = 402;
    const app = new JobApp();
    app.addRateLimit("bulk", { kind: "sliding", limit, window: windowMs });
    const job = app.addJob("Bulk", (_: { i: number }) => undefined).withRateLimit("bulk");
    const definition = app.getRateLimit("bulk");
    if (!definition) throw new Error("no rate limit");
    const shards = rateShardsOf(definition);
    expect(shards.map((shard) => shard.limit)).toEqual([201, 201]);
    system = await startTestSystem({ app, workers: 3, worker: { concurrency: 16 } });
    const s = system;
    // The runs' due window already counted all but 3 permits of each shard (as if 396 runs
    // had started at its beginning): at most 6 of the 30 runs start in it, the rest wait for
    // the next windows, where the previous window's 402 decay. A shard that admitted past
    // its share would start more in the due window.
    const due = (Math.floor(Date.now() / windowMs) + 2) * windowMs;
    const seeded = 3;
    await Promise.all(
      shards.map((shard) =>
        s.store.doc.send(
          new PutCommand({
            TableName: s.store.tableName,
            Item: { ...rateWindowKey(shard.pk, due), kind: "rate", count: shard.limit - seeded },
          }),
        ),
      ),
    );
    const runs = await triggerMany(30, (i) => s.client.trigger(job, { i }, { notBefore: new Date(due) }));
    const starts = await startTimes(
      s,
      runs.map((r) => r.runId),
    );
    const windowOf = (t: number) => Math.floor(t / windowMs) * windowMs;
    const counts = new Map<number, number>([[due, limit - seeded * shards.length]]);
    let maxWeighted = 0;
    for (const t of starts) {
      const w = windowOf(t);
      counts.set(w, (counts.get(w) ?? 0) + 1);
      const weighted = (counts.get(w - windowMs) ?? 0) * (1 - (t - w) / windowMs) + (counts.get(w) ?? 0);
      expect(weighted, `at ${t - due} ms: ${[...counts]}`).toBeLessThanOrEqual(limit + 1e-9);
      maxWeighted = Math.max(maxWeighted, weighted);
    }
    for (const count of counts.values()) expect(count).toBeLessThanOrEqual(limit);
    // Both shards gave permits in the due window (all 6 when the machine keeps up: reached).
    const given = await Promise.all(
      shards.map(
        async (shard) =>
          (
            await s.store.doc.send(
              new GetCommand({ TableName: s.store.tableName, Key: rateWindowKey(shard.pk, due) }),
            )
          ).Item?.count,
      ),
    );
    console.log(
      `sliding 402 per 2 s over 2 shards: due window counters ${given}; starts per window ${[...counts.values()]}; max weighted ${maxWeighted.toFixed(1)}`,
    );
    for (const [i, shard] of shards.entries()) {
      expect(given[i]).toBeGreaterThan(shard.limit - seeded);
      expect(given[i]).toBeLessThanOrEqual(shard.limit);
    }
  }, 90_000);

  it("fixed 2000 per 1 s over 10 shards: the window counters' writes spread evenly", async () => {
    const app = new JobApp();
    app.addRateLimit("wide", { kind: "fixed", limit: 2000, window: 1000 });
    const job = app.addJob("Wide", (_: { i: number }) => undefined).withRateLimit("wide");
    system = await startTestSystem({ app, workers: 2, worker: { concurrency: 16 } });
    const s = system;
    const writes = recordPartitionWrites(s.store.doc);
    const runs = await triggerMany(100, (i) => s.client.trigger(job, { i }));
    await startTimes(
      s,
      runs.map((r) => r.runId),
    );
    const shards = unitsUnder(writes, "RATE#wide");
    const total = shards.reduce((sum, [, wu]) => sum + wu, 0);
    console.log(
      `fixed 2000/s: window counter WU per shard ${shards.map(([pk, wu]) => `${pk}=${wu}`).join(" ")}`,
    );
    expect(shards).toHaveLength(10);
    // One permit per run (2 WU in its claim's transaction), none of them in `RATE#wide` itself.
    expect(total).toBe(200);
    expect(writes.get("RATE#wide")).toBeUndefined();
    // In permits (2 WU each): the busiest shard within 4 standard deviations of 1/10.
    expect((shards[0]?.[1] ?? 0) / 2).toBeLessThanOrEqual(busiestBound(total / 2, 10));
  }, 90_000);
});

describe("sharded concurrency limits", () => {
  it("a job limit of 101 over 2 shards: never over, reached, waiters start in claim order, every slot freed", async () => {
    const max = 101;
    const app = new JobApp();
    const holds = new Map<number, () => void>();
    const started: number[] = [];
    let open = 0;
    let maxOpen = 0;
    const job = app
      .addJob("Wide", async ({ i, hold }: { i: number; hold: boolean }) => {
        open++;
        maxOpen = Math.max(maxOpen, open);
        started.push(i);
        if (hold) await new Promise<void>((resolve) => holds.set(i, resolve));
        open--;
      })
      .withMaxConcurrency(max)
      .withPriority(0);
    // A long lease: 100 handlers on a loaded event loop must not miss heartbeats (this test is about slots, not leases).
    system = await startTestSystem({ app, workers: 2, worker: { concurrency: 100, leaseMs: 15_000 } });
    const s = system;
    const writes = recordPartitionWrites(s.store.doc);
    const limit = { key: jobLimitKey("Wide"), max, shards: 2 };
    const readLimit = async () => (await s.client.getLimits()).find((l) => l.limit === limit.key);

    // Fill the limit with held runs.
    const holders = await triggerMany(max, (i) => s.client.trigger(job, { i, hold: true }));
    await until(async () => holds.size === max, `${max} held runs`);
    expect(await readLimit()).toMatchObject({ running: max, waiting: 0 });

    // 12 runs of mixed priorities wait, spread over both waiter shards.
    const priorities = [0, 5, -1, 10, -5];
    const waiting: JobRun[] = [];
    for (let i = 0; i < 12; i++)
      waiting.push(
        await s.client.trigger(job, { i: 1000 + i, hold: false }, { priority: priorities[i % 5] as number }),
      );
    await until(async () => (await readLimit())?.waiting === 12, "12 waiters");
    const perShard = await Promise.all(
      limitPks(limit).map(async (pk) => {
        const out = await s.store.doc.send(
          new QueryCommand({
            TableName: s.store.tableName,
            KeyConditionExpression: "pk = :pk AND begins_with(sk, :w)",
            ExpressionAttributeValues: { ":pk": pk, ":w": "WAIT#" },
            ConsistentRead: true,
          }),
        );
        return out.Count ?? 0;
      }),
    );
    expect(perShard.every((n) => n > 0)).toBe(true);
    // A waiter canceled while it waits leaves its shard (its item's key is on the run: `waitPk`).
    const canceled = await s.client.trigger(job, { i: 2000, hold: false }, { priority: 100 });
    await until(async () => (await readLimit())?.waiting === 13, "the 13th waiter");
    expect((await s.store.get(canceled.runId))?.waitPk).toMatch(/^LIMIT#job#Wide#[01]$/);
    await s.client.cancel(canceled.runId);
    expect(await readLimit()).toMatchObject({ running: max, waiting: 12 });

    const filled = new Map(writes);

    // Free one slot: it goes to the first waiter over both shards, whose end hands it to the next.
    holds.get(0)?.();
    await until(async () => started.filter((i) => i >= 1000).length === 12, "the 12 waiters started");
    const chained = new Map(writes);
    for (let j = 1; j < max; j++) holds.get(j)?.();
    await startTimes(
      s,
      [...holders, ...waiting].map((r) => r.runId),
    );
    expect(started).not.toContain(2000);
    const runs = await Promise.all(waiting.map((r) => s.client.getRun(r.runId)));
    const expected = [...runs].sort(claimOrder).map((r) => runs.indexOf(r) + 1000);
    expect(started.filter((i) => i >= 1000)).toEqual(expected);
    expect(maxOpen).toBe(max);

    // Nothing left in any shard, and each shard took about half the limit's writes.
    expect(await readLimit()).toMatchObject({ running: 0, waiting: 0 });
    for (const pk of limitPks(limit)) {
      const left = await s.store.doc.send(
        new QueryCommand({
          TableName: s.store.tableName,
          KeyConditionExpression: "pk = :pk",
          ExpressionAttributeValues: { ":pk": pk },
          ConsistentRead: true,
        }),
      );
      expect(left.Items, pk).toEqual([]);
    }
    // The fill (slot puts, waiter puts) and the releases (slot deletes) each spread over
    // both shards; the chain of waiters runs through one slot, so one shard, by design.
    const released = new Map([...writes].map(([pk, wu]) => [pk, wu - (chained.get(pk) ?? 0)]));
    for (const [phase, units] of [
      ["fill", filled],
      ["release", released],
    ] as const) {
      const shards = unitsUnder(units, "LIMIT#job#Wide");
      const total = shards.reduce((sum, [, wu]) => sum + wu, 0);
      console.log(
        `job limit 101, ${phase}: WU per shard ${shards.map(([pk, wu]) => `${pk}=${wu}`).join(" ")}`,
      );
      expect(shards.map(([pk]) => pk).sort()).toEqual(limitPks(limit));
      expect(shards[0]?.[1], phase).toBeLessThanOrEqual(total * 0.6);
    }
  }, 120_000);
});

/** The documented claim order of runs waiting on one limit (one queue, one job priority). */
function claimOrder(a: JobRun, b: JobRun): number {
  return (
    b.priority - a.priority ||
    Date.parse(a.createdAt) - Date.parse(b.createdAt) ||
    (a.runId < b.runId ? -1 : 1)
  );
}
