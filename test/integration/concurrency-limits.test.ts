/**
 * N1 (never over, and the limit is reached), N10 (waitingFor and counts) and the key
 * function's typed failure (N6), on real DynamoDB Local and fauxqs lanes: 4 polling
 * workers with 4 slots each, and a 200 ms job. Scaled down from the 300 runs per
 * case to `LIMITS_N1_RUNS` (default 45): the property (never more than the limit open,
 * the limit reached) is the same; `LIMITS_N1_RUNS=300` runs the full size.
 */
import { afterEach, describe, expect, it } from "vitest";
import { ConcurrencyKeyError, JobApp } from "../../sdk/src/index.js";
import { intervalRecorder, maxOverlap } from "../support/overlap.js";
import { startTestSystem, type TestSystem } from "../support/test-system.js";

const runs = Number(process.env.LIMITS_N1_RUNS ?? 45);
/** Per case: the runs go 3 at a time (200 ms each) behind 300 polling waits at the full size. */
const timeoutMs = Math.max(60_000, runs * 1500);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let system: TestSystem | undefined;
afterEach(async () => {
  await system?.stop();
  system = undefined;
});

async function startWith(app: JobApp) {
  system = await startTestSystem({ app, workers: 4, worker: { concurrency: 4 } });
  return system;
}

describe("N1: concurrency limits are never exceeded and are reached", () => {
  it(
    "a job limit of 3 (N10: waitingFor and counts while runs wait)",
    async () => {
      const app = new JobApp();
      const recorder = intervalRecorder();
      const job = app
        .addJob("Limited", (_: { i: number }) => recorder.record("job", () => sleep(200)))
        .withMaxConcurrency(3);
      const s = await startWith(app);
      const triggered = await Promise.all(
        Array.from({ length: runs }, (_, i) => s.client.trigger(job, { i })),
      );
      // N10: while the backlog waits, runs say why and the limit counts them.
      let waiting: Awaited<ReturnType<typeof s.client.getRun>> | undefined;
      for (let i = 0; i < 100 && !waiting; i++) {
        const last = await s.client.getRun(triggered[triggered.length - 1]?.runId ?? "");
        if (last.waitingFor) waiting = last;
        else await sleep(50);
      }
      expect(waiting?.waitingFor).toBe("job limit");
      const [limit] = await s.client.getLimits();
      expect(limit).toMatchObject({ limit: "job#Limited", kind: "job limit", maxConcurrency: 3 });
      expect(limit?.running).toBeLessThanOrEqual(3);
      expect(limit?.waiting).toBeGreaterThan(0);
      const done = await Promise.all(triggered.map((r) => s.client.wait(r.runId)));
      expect(done.every((r) => r.status === "Succeeded" && r.attempt === 1)).toBe(true);
      expect(recorder.intervals).toHaveLength(runs);
      expect(maxOverlap(recorder.intervals)).toBe(3);
      const [after] = await s.client.getLimits();
      expect(after).toMatchObject({ running: 0, waiting: 0 });
    },
    timeoutMs,
  );

  it(
    "a queue limit of 3 shared by two jobs",
    async () => {
      const app = new JobApp();
      app.addQueue("narrow", { maxConcurrency: 3 });
      const recorder = intervalRecorder();
      const a = app
        .addJob("A", (_: { i: number }) => recorder.record("a", () => sleep(200)))
        .withQueue("narrow");
      const b = app
        .addJob("B", (_: { i: number }) => recorder.record("b", () => sleep(200)))
        .withQueue("narrow");
      const s = await startWith(app);
      const triggered = await Promise.all(
        Array.from({ length: runs }, (_, i) => s.client.trigger(i % 2 === 0 ? a : b, { i })),
      );
      const done = await Promise.all(triggered.map((r) => s.client.wait(r.runId)));
      expect(done.every((r) => r.status === "Succeeded")).toBe(true);
      expect(maxOverlap(recorder.intervals)).toBe(3);
      const queues = await s.client.getQueues();
      expect(queues.find((q) => q.name === "narrow")).toMatchObject({
        maxConcurrency: 3,
        running: 0,
        waiting: 0,
      });
    },
    timeoutMs,
  );

  it(
    "a per-key limit of 2 with 5 keys: at most 2 per key, several keys at once",
    async () => {
      const app = new JobApp();
      const recorder = intervalRecorder();
      const job = app
        .addJob("PerTenant", ({ tenant }: { tenant: string; i: number }) =>
          recorder.record(tenant, () => sleep(200)),
        )
        .withConcurrencyKey((args) => args.tenant, { maxConcurrency: 2 });
      const s = await startWith(app);
      const triggered = await Promise.all(
        Array.from({ length: runs }, (_, i) => s.client.trigger(job, { tenant: `t${i % 5}`, i })),
      );
      const done = await Promise.all(triggered.map((r) => s.client.wait(r.runId)));
      expect(done.every((r) => r.status === "Succeeded")).toBe(true);
      // Never over, for every key; reached for some key (whether one key's two runs meet
      // depends on how a loaded machine staggers its hand-offs), and keys run side by side.
      const perKey = Array.from({ length: 5 }, (_, k) =>
        maxOverlap(recorder.intervals.filter((i) => i.label === `t${k}`)),
      );
      for (const overlap of perKey) expect(overlap).toBeLessThanOrEqual(2);
      expect(Math.max(...perKey)).toBe(2);
      expect(maxOverlap(recorder.intervals)).toBeGreaterThan(2);
    },
    timeoutMs,
  );
});

describe("N6: a key function that fails", () => {
  it("fails its run with ConcurrencyKeyError, using no attempt", async () => {
    const app = new JobApp();
    const job = app
      .addJob("BadKey", (_: { n: number }) => "never")
      .withConcurrencyKey((args) => args.n as unknown as string, { maxConcurrency: 1 });
    const s = await startWith(app);
    const run = await s.client.trigger(job, { n: 7 });
    const done = await s.client.wait(run.runId);
    expect(done.status).toBe("Failed");
    expect(done.attempt).toBe(0);
    expect(done.error?.type).toBe(new ConcurrencyKeyError("x", "y").name);
    expect(done.error?.message).toContain("returned number 7");
  });
});
