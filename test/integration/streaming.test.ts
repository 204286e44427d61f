import { afterEach, describe, expect, it } from "vitest";
import { JobApp, JobRunError } from "../../sdk/src/index.js";
import { RequestCounter } from "../../sdk/src/metrics/request-counter.js";
import { inputIdleTimeoutMs } from "../../sdk/src/streams/input-log.js";
import { spawnChild } from "../support/spawn-child.js";
import { startTestSystem, type TestSystem } from "../support/test-system.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let system: TestSystem | undefined;
afterEach(async () => {
  await system?.stop();
  system = undefined;
});

describe("streaming jobs", () => {
  it("delivers items while the producer still runs", async () => {
    // Arrange: the producer yields item 1, then waits until the consumer has seen it
    let release: () => void = () => undefined;
    const consumerSawFirst = new Promise<void>((resolve) => {
      release = resolve;
    });
    const app = new JobApp();
    const producer = app.addJob("Producer", async function* () {
      yield 1;
      await consumerSawFirst;
      yield 2;
    });
    system = await startTestSystem({ app });
    // Act
    const seen: number[] = [];
    for await (const item of system.client.stream(producer)) {
      seen.push(item);
      if (item === 1) release();
    }
    // Assert
    expect(seen).toEqual([1, 2]);
  });

  it("yields the items so far, then throws JobRunError when the producer fails", async () => {
    const app = new JobApp();
    const failing = app.addJob("Failing", async function* () {
      yield "a";
      yield "b";
      throw new Error("disk full");
    });
    system = await startTestSystem({ app });
    const seen: string[] = [];
    const error = await (async () => {
      for await (const item of system.client.stream(failing)) seen.push(item);
    })().catch((e) => e);
    expect(seen).toEqual(["a", "b"]);
    expect(error).toBeInstanceOf(JobRunError);
    expect(error.run.error.message).toBe("disk full");
  });

  it("yields every attempt's items when a streaming job is retried, and keeps the last attempt's as the result", async () => {
    const app = new JobApp();
    const retried = app
      .addJob("Retried", async function* (_: undefined, ctx) {
        yield `attempt ${ctx.attempt} item`;
        if (ctx.attempt === 1) throw new Error("first attempt fails");
      })
      .withRetry({ maxRetries: 1, initialDelay: "50ms" });
    system = await startTestSystem({ app });
    const run = await system.client.trigger(retried);
    const seen: string[] = [];
    for await (const item of system.client.waitStream<string>(run.runId)) seen.push(item);
    expect(seen).toEqual(["attempt 1 item", "attempt 2 item"]);
    expect(await system.client.waitResult(run.runId)).toEqual(["attempt 2 item"]);
  });

  it("writes 1,000 small items in far fewer than 1,000 writes", async () => {
    const app = new JobApp();
    const many = app.addJob("Many", async function* () {
      for (let i = 0; i < 1000; i++) yield { i };
    });
    system = await startTestSystem({ app });
    const counter = new RequestCounter();
    counter.attach(system.store.doc, "DynamoDB");
    const run = await system.client.trigger(many);
    const items: unknown[] = [];
    for await (const item of system.client.waitStream(run.runId)) items.push(item);
    expect(items).toHaveLength(1000);
    expect(items[999]).toEqual({ i: 999 });
    // create, claim, the output flushes and completion: every write of the run
    const writes = ["PutItem", "UpdateItem", "TransactWriteItems", "BatchWriteItem"].reduce(
      (sum, op) => sum + (counter.counts.get(`DynamoDB.${op}`) ?? 0),
      0,
    );
    expect(writes).toBeGreaterThanOrEqual(3);
    expect(writes).toBeLessThan(50);
    const outputEvents = [];
    for await (const e of system.store.events(run.runId)) if (e.type === "output") outputEvents.push(e);
    expect(outputEvents.length).toBeLessThanOrEqual(20);
  });

  it("fails the run with a clear error when an output item is over the size limit", async () => {
    const app = new JobApp();
    const huge = app.addJob("Huge", async function* () {
      yield "small";
      yield "x".repeat(200 * 1024);
    });
    system = await startTestSystem({ app });
    const error = await system.client.run(huge).catch((e) => e);
    expect(error).toBeInstanceOf(JobRunError);
    expect(error.run.error.message).toMatch(/output\[1\]: is \d+ bytes as JSON; the limit is 131072 bytes/);
  });

  it("cancels the run when the owner stops consuming, but not when an observer does", async () => {
    const app = new JobApp();
    const endless = app.addJob("Endless", async function* (_: undefined, ctx) {
      for (let i = 0; !ctx.signal.aborted; i++) {
        yield i;
        await sleep(20);
      }
    });
    system = await startTestSystem({ app });
    for await (const item of system.client.stream(endless)) if (item >= 2) break;
    const runs = [];
    for await (const r of system.client.getRuns({ jobName: "Endless" })) runs.push(r);
    expect((await system.client.wait(runs[0]?.runId as string)).status).toBe("Canceled");

    const observed = await system.client.trigger(endless);
    for await (const item of system.client.waitStream<number>(observed.runId)) if (item >= 2) break;
    expect((await system.client.getRun(observed.runId)).status).toBe("Running");
    await system.client.cancel(observed.runId);
  });
});

describe("pipelines", () => {
  function pipelineJobs() {
    const app = new JobApp();
    const generate = app.addJob("GenerateNumbers", async function* ({ count }: { count: number }) {
      for (let i = 1; i <= count; i++) yield i;
    });
    const double = app.addJob(
      "DoubleNumbers",
      async function* ({ values }: { values: AsyncIterable<number> }) {
        for await (const v of values) yield v * 2;
      },
    );
    const sum = app.addJob("SumNumbers", async (_: { count: number }, ctx) => {
      const numbers = ctx.client.stream(generate, { count: _.count });
      const doubled = ctx.client.stream(double, { values: numbers });
      let total = 0;
      for await (const v of doubled) total += v;
      return total;
    });
    return { app, generate, double, sum };
  }

  it("feeds one job's output into another's input: GenerateNumbers → DoubleNumbers → SumNumbers", async () => {
    const { app, sum } = pipelineJobs();
    system = await startTestSystem({ app, worker: { concurrency: 4 } });
    expect(await system.client.run(sum, { count: 10 })).toBe(110);
  });

  it("L7: fails a consumer's input with InputStalledError when the process pumping it is killed", {
    timeout: 90_000,
  }, async () => {
    // Arrange: "Total" sums its input; the child pumps 1, 2, 3 and then holds the input open
    const app = new JobApp();
    const consumed: number[] = [];
    app.addJob("Total", async ({ values }: { values: AsyncIterable<number> }) => {
      let total = 0;
      for await (const v of values) {
        consumed.push(v);
        total += v;
      }
      return total;
    });
    system = await startTestSystem({ app });
    const child = spawnChild("pumping-client.ts", system.resources, { stdout: "pipe" });
    const exited = new Promise((resolve) => child.once("exit", resolve));
    let out = "";
    child.stdout?.on("data", (chunk) => {
      out += String(chunk);
    });
    try {
      await expect.poll(() => consumed.length, { timeout: 20_000 }).toBe(3);
      const runId = /run (\S+)/.exec(out)?.[1] as string;
      // Act
      child.kill("SIGKILL");
      await exited;
      const killedAt = Date.now();
      const done = await system.client.wait(runId);
      // Assert
      expect(done.status).toBe("Failed");
      expect(done.error?.type).toBe("InputStalledError");
      expect(Date.now() - killedAt).toBeLessThan(inputIdleTimeoutMs + 10_000);
      expect(consumed).toEqual([1, 2, 3]);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await exited;
    }
  });

  it("accepts a local async iterable as a streamed argument", async () => {
    const { app, double } = pipelineJobs();
    system = await startTestSystem({ app });
    async function* local() {
      yield 5;
      yield 7;
    }
    const out: number[] = [];
    for await (const v of system.client.stream(double, { values: local() })) out.push(v);
    expect(out).toEqual([10, 14]);
  });

  it("cancels the producers a consumer owns when the consumer's run is canceled", async () => {
    const app = new JobApp();
    const slowGen = app.addJob("SlowGen", async function* (_: undefined, ctx) {
      for (let i = 0; ; i++) {
        yield i;
        await sleep(50);
        if (ctx.signal.aborted) return;
      }
    });
    const consumer = app.addJob("Consumer", async (_: undefined, ctx) => {
      for await (const _item of ctx.client.stream(slowGen)) {
        /* consume until canceled */
      }
    });
    system = await startTestSystem({ app, worker: { concurrency: 4 } });
    const run = await system.client.trigger(consumer);
    let producerId: string | undefined;
    for (let i = 0; i < 100 && !producerId; i++) {
      await sleep(50);
      for await (const c of system.client.getRuns({ parentRunId: run.runId, status: "Running" }))
        producerId = c.runId;
    }
    await system.client.cancel(run.runId);
    expect((await system.client.wait(producerId as string)).status).toBe("Canceled");
  });
});
