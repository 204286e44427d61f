/**
 * N4, claim order among waiters: queue priority, then run priority (the run's, else its
 * job's), then due time (`notBefore`, else creation time), earlier first, then creation
 * order (creation time, then run id).
 */
import { afterEach, describe, expect, it } from "vitest";
import { JobApp, type JobRun } from "../../sdk/src/index.js";
import { startTestSystem, type TestSystem } from "../support/test-system.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let system: TestSystem | undefined;
afterEach(async () => {
  await system?.stop();
  system = undefined;
});

/** The documented order of runs that all wait on one limit (all in one queue). */
function claimOrder(a: JobRun, b: JobRun): number {
  const due = (r: JobRun) => Date.parse(r.notBefore ?? r.createdAt);
  return (
    b.priority - a.priority ||
    due(a) - due(b) ||
    Date.parse(a.createdAt) - Date.parse(b.createdAt) ||
    (a.runId < b.runId ? -1 : 1)
  );
}

async function waitForWaiters(s: TestSystem, n: number): Promise<void> {
  for (let i = 0; i < 300; i++) {
    const limits = await s.client.getLimits();
    if (limits.reduce((sum, l) => sum + l.waiting, 0) >= n) return;
    await sleep(100);
  }
  throw new Error(`fewer than ${n} runs entered the waiter lists`);
}

describe("N4: claim order", () => {
  it("with the only slot busy, 50 waiting runs of mixed priorities and due times start in the documented order", async () => {
    const app = new JobApp();
    let release: () => void = () => undefined;
    const blocker = new Promise<void>((resolve) => {
      release = resolve;
    });
    const job = app
      .addJob("Ordered", async ({ block }: { block: boolean }) => (block ? blocker : undefined))
      .withMaxConcurrency(1)
      .withPriority(0);
    system = await startTestSystem({ app, workers: 1, worker: { concurrency: 8 } });
    const s = system;
    const first = await s.client.trigger(job, { block: true });
    for (let i = 0; i < 100 && (await s.client.getRun(first.runId)).status !== "Running"; i++)
      await sleep(50);
    const priorities = [0, 5, -1, 10, -5];
    const triggered: JobRun[] = [];
    for (let i = 0; i < 49; i++) {
      const priority = priorities[i % priorities.length] as number;
      // Due times in the past, out of creation order, for two in five; one in five takes the job's priority.
      const notBefore = i % 5 < 2 ? { notBefore: new Date(Date.now() - ((i * 7919) % 5000)) } : {};
      triggered.push(
        await s.client.trigger(job, { block: false }, { ...(i % 5 === 4 ? {} : { priority }), ...notBefore }),
      );
    }
    // A priority-10 run triggered last starts before every priority-0 run.
    triggered.push(await s.client.trigger(job, { block: false }, { priority: 10 }));
    await waitForWaiters(s, 50);
    release();
    const done = await Promise.all(triggered.map((r) => s.client.wait(r.runId)));
    const byStart = [...done].sort((a, b) => Date.parse(a.startedAt ?? "") - Date.parse(b.startedAt ?? ""));
    const expected = [...triggered].sort(claimOrder).map((r) => r.runId);
    expect(byStart.map((r) => r.runId)).toEqual(expected);
    const last = triggered[triggered.length - 1]?.runId;
    const lastStart = byStart.findIndex((r) => r.runId === last);
    expect(byStart.slice(lastStart).some((r) => r.priority === 10 && r.runId !== last)).toBe(false);
    expect(byStart.slice(0, lastStart).every((r) => r.priority === 10)).toBe(true);
  }, 120_000);

  it("two queues of different priority sharing one rate limit and one worker: the higher queue's waiters go first", async () => {
    const windowMs = 5000;
    const app = new JobApp();
    app.addRateLimit("shared", { kind: "fixed", limit: 10, window: windowMs });
    app.addQueue("hi", { priority: 10, rateLimit: "shared" });
    app.addQueue("lo", { priority: 0, rateLimit: "shared" });
    const lo = app.addJob("Lo", (_: { i: number }) => undefined).withQueue("lo");
    const hi = app.addJob("Hi", (_: { i: number }) => undefined).withQueue("hi");
    system = await startTestSystem({ app, workers: 1, worker: { concurrency: 8 } });
    const s = system;
    // At a window's start: spend it (10 starts), then queue 10 low and (later) 10 high,
    // all waiting well before the next window opens.
    const now = Date.now();
    await sleep(Math.ceil(now / windowMs) * windowMs + 50 - now);
    const spend = await Promise.all(Array.from({ length: 10 }, (_, i) => s.client.trigger(lo, { i })));
    await Promise.all(spend.map((r) => s.client.wait(r.runId)));
    const low = await Promise.all(Array.from({ length: 10 }, (_, i) => s.client.trigger(lo, { i })));
    const high = await Promise.all(Array.from({ length: 10 }, (_, i) => s.client.trigger(hi, { i })));
    const done = await Promise.all([...spend, ...low, ...high].map((r) => s.client.wait(r.runId)));
    const startOf = (id: string) => Date.parse(done.find((r) => r.runId === id)?.startedAt ?? "");
    const firstWindow = Math.floor(startOf(spend[0]?.runId ?? "") / windowMs);
    expect(spend.every((r) => Math.floor(startOf(r.runId) / windowMs) === firstWindow)).toBe(true);
    // The next window is the high queue's, the one after the low queue's.
    const windows = (runs: readonly { runId: string }[]) =>
      [...new Set(runs.map((r) => Math.floor(startOf(r.runId) / windowMs) - firstWindow))].sort();
    expect(windows(high)).toEqual([1]);
    expect(windows(low)).toEqual([2]);
  }, 60_000);

  it("runs waiting only for worker capacity: a high-priority queue's runs go to the high lane whatever their own priority", async () => {
    const app = new JobApp();
    app.addQueue("urgent", { priority: 10 });
    const page = app.addJob("Page", () => undefined).withQueue("urgent");
    const plain = app.addJob("Plain", () => undefined);
    system = await startTestSystem({ app, workers: 0, timer: false, streams: false });
    const paged = await system.store.get(
      (await system.client.trigger(page, undefined, { priority: -5 })).runId,
    );
    const other = await system.store.get(
      (await system.client.trigger(plain, undefined, { priority: 3 })).runId,
    );
    expect(paged?.queuePriority).toBe(10);
    expect(system.dispatcher.laneFor(paged as NonNullable<typeof paged>).name).toBe("high");
    expect(system.dispatcher.laneFor(other as NonNullable<typeof other>).name).toBe("normal");
  });
});
