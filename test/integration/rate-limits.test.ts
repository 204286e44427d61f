/**
 * N3, rate exactness, from the runs' recorded start times (`startedAt`, the claim time the
 * permit was counted at): a sliding limit of 10 per 2 s keeps prev × (1 − elapsed/window)
 * + current ≤ 10 at every start, including after a burst of 10 at the end of a window;
 * a fixed limit admits at most 10 per aligned window; both reach the limit.
 */
import { afterEach, describe, expect, it } from "vitest";
import { JobApp } from "../../sdk/src/index.js";
import { readRateCounts, takePermit } from "../../sdk/src/limits/rate-permits.js";
import { rateShardsOf } from "../../sdk/src/limits/rate-shards.js";
import { transactWrite } from "../../sdk/src/store/transact.js";
import { startTestSystem, type TestSystem } from "../support/test-system.js";

const windowMs = 2000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let system: TestSystem | undefined;
afterEach(async () => {
  await system?.stop();
  system = undefined;
});

async function startTimes(s: TestSystem, runIds: readonly string[]): Promise<number[]> {
  const done = await Promise.all(runIds.map((id) => s.client.wait(id)));
  expect(done.every((r) => r.status === "Succeeded" && r.attempt === 1)).toBe(true);
  return done.map((r) => Date.parse(r.startedAt ?? "")).sort((a, b) => a - b);
}

const windowOf = (t: number) => Math.floor(t / windowMs) * windowMs;

describe("N3: rate limits", () => {
  it("sliding 10 per 2 s: the weighted count never passes 10, even after a burst at a window's end", async () => {
    const app = new JobApp();
    app.addRateLimit("api", { kind: "sliding", limit: 10, window: windowMs });
    const job = app.addJob("Call", (_: { i: number }) => undefined).withRateLimit("api");
    system = await startTestSystem({ app, workers: 2, worker: { concurrency: 8 } });
    const s = system;
    // A burst of 10 in the last 400 ms of a window, then 20 more right after it.
    const now = Date.now();
    await sleep(windowOf(now) + 2 * windowMs - 400 - now);
    const burst = await Promise.all(Array.from({ length: 10 }, (_, i) => s.client.trigger(job, { i })));
    const rest = await Promise.all(Array.from({ length: 20 }, (_, i) => s.client.trigger(job, { i })));
    const starts = await startTimes(
      s,
      [...burst, ...rest].map((r) => r.runId),
    );
    const counts = new Map<number, number>();
    let maxWeighted = 0;
    for (const t of starts) {
      const w = windowOf(t);
      counts.set(w, (counts.get(w) ?? 0) + 1);
      const weighted = (counts.get(w - windowMs) ?? 0) * (1 - (t - w) / windowMs) + (counts.get(w) ?? 0);
      maxWeighted = Math.max(maxWeighted, weighted);
      expect(weighted).toBeLessThanOrEqual(10 + 1e-9);
    }
    // The limit is reached, not serialized far below it. Not exactly 10: a run woken with a
    // permit of one window that claims after the boundary must take a permit of the next,
    // and the first goes unused; a loaded 2-core machine (CI) peaked at 8.
    expect(maxWeighted).toBeGreaterThanOrEqual(7);
  }, 90_000);

  it("sliding: a permit counted late in a window the next one has weighed already is refused", async () => {
    const app = new JobApp();
    app.addRateLimit("api", { kind: "sliding", limit: 10, window: windowMs });
    system = await startTestSystem({ app, workers: 0, timer: false, streams: false });
    const { store } = system;
    const definition = app.getRateLimit("api");
    if (!definition) throw new Error("no rate limit");
    // 10 per 2 s is one shard: the limit's own counters.
    const [rate] = rateShardsOf(definition);
    if (!rate || rateShardsOf(definition).length !== 1) throw new Error("expected one shard");
    const next = windowOf(Date.now()) + 10 * windowMs;
    const take = async (counts: Awaited<ReturnType<typeof readRateCounts>>) =>
      (await transactWrite(store.doc, takePermit(store, rate, counts, 10))).ok;
    // One permit in the window before `next`, read as final by a claimer at `next`.
    expect(await take(await readRateCounts(store, rate, next - 1))).toBe(true);
    const late = await readRateCounts(store, rate, next - 1);
    const first = await readRateCounts(store, rate, next);
    expect(first).toMatchObject({ prevCount: 1, prevClosed: false });
    expect(await take(first)).toBe(true);
    // The claimer that read the old window before the boundary commits after: refused.
    expect(await take(late)).toBe(false);
    expect(await readRateCounts(store, rate, next)).toMatchObject({
      count: 1,
      prevCount: 1,
      prevClosed: true,
    });
    // And a claimer in the new window whose reading of the old one went stale is refused too.
    const later = next + windowMs;
    const stale = await readRateCounts(store, rate, later);
    expect(await take(await readRateCounts(store, rate, later - 1))).toBe(true);
    expect(await take(stale)).toBe(false);
    expect(await take(await readRateCounts(store, rate, later))).toBe(true);
  });

  it("fixed 10 per 2 s: at most 10 per aligned window, and 10 are reached", async () => {
    const app = new JobApp();
    app.addRateLimit("smtp", { kind: "fixed", limit: 10, window: windowMs });
    app.addQueue("mail", { rateLimit: "smtp" });
    const job = app.addJob("Send", (_: { i: number }) => undefined).withQueue("mail");
    system = await startTestSystem({ app, workers: 2, worker: { concurrency: 8 } });
    const s = system;
    const runs = await Promise.all(Array.from({ length: 30 }, (_, i) => s.client.trigger(job, { i })));
    const starts = await startTimes(
      s,
      runs.map((r) => r.runId),
    );
    const perWindow = new Map<number, number>();
    for (const t of starts) perWindow.set(windowOf(t), (perWindow.get(windowOf(t)) ?? 0) + 1);
    expect(Math.max(...perWindow.values())).toBe(10);
  }, 90_000);
});
