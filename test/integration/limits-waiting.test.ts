/**
 * Waiting on limits: N8 (waiting runs hold no lane message and cause no receives), N9 (a
 * parent awaiting its child in its own limited queue finishes).
 */
import { GetQueueAttributesCommand } from "@aws-sdk/client-sqs";
import { type DynamoDBDocumentClient, PutCommand, TransactWriteCommand } from "@aws-sdk/lib-dynamodb";
import { afterEach, describe, expect, it } from "vitest";
import { JobApp } from "../../sdk/src/index.js";
import { jobLimitKey } from "../../sdk/src/limits/concurrency-limits.js";
import { enterWaitList, wakeNext } from "../../sdk/src/limits/waiters.js";
import { runMaintenance } from "../../sdk/src/maintenance/maintenance.js";
import { slotKey } from "../../sdk/src/store/keys.js";
import { startTestSystem, type TestSystem } from "../support/test-system.js";

/** How long the N8 backlog waits: 5 s here, 60 s with `LIMITS_N8_WAIT_MS=60000` (the size). */
const waitMs = Number(process.env.LIMITS_N8_WAIT_MS ?? 5_000);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let system: TestSystem | undefined;
afterEach(async () => {
  await system?.stop();
  system = undefined;
});

describe("N8: waiting runs cost the lanes nothing", () => {
  it(`100 runs waiting ${waitMs / 1000} s on a job limit: no message of theirs visible or in flight, no receive handed one out`, async () => {
    const app = new JobApp();
    let release: () => void = () => undefined;
    const blocker = new Promise<void>((resolve) => {
      release = resolve;
    });
    let received = 0;
    const job = app
      .addJob("One", async ({ block }: { block: boolean }) => (block ? blocker : undefined))
      .withMaxConcurrency(4);
    // Leases long enough that a loaded machine's late heartbeats never fence the blocked
    // handlers (this test is about the lanes, not leases).
    system = await startTestSystem({ app, workers: 2, worker: { concurrency: 4, leaseMs: 20_000 } });
    const s = system;
    const blocking = await Promise.all(
      Array.from({ length: 4 }, () => s.client.trigger(job, { block: true })),
    );
    for (let i = 0; i < 100; i++) {
      const runs = await Promise.all(blocking.map((r) => s.client.getRun(r.runId)));
      if (runs.every((r) => r.status === "Running")) break;
      await sleep(50);
    }
    const waiting = await Promise.all(
      Array.from({ length: 100 }, () => s.client.trigger(job, { block: false })),
    );
    for (let i = 0; i < 200; i++) {
      const [limit] = await s.client.getLimits();
      if (limit?.waiting === 100) break;
      await sleep(100);
    }
    expect((await s.client.getLimits())[0]).toMatchObject({ running: 4, waiting: 100 });
    // Every lane message the workers' receives hand out from here on is counted.
    for (const worker of s.workers) {
      const core = worker.core;
      const process = core.process.bind(core);
      core.process = (message, options) => {
        received++;
        return process(message, options);
      };
    }
    // Deletes of the waiters' messages are batched: let the last ones land.
    await sleep(2000);
    const samples: number[][] = [];
    for (const until = Date.now() + waitMs; Date.now() < until; ) {
      const counts = await Promise.all(
        Object.values(s.resources.laneUrls).map(async (url) => {
          const out = await s.resources.sqs.send(
            new GetQueueAttributesCommand({
              QueueUrl: url,
              AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
            }),
          );
          return (
            Number(out.Attributes?.ApproximateNumberOfMessages ?? 0) +
            Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0)
          );
        }),
      );
      samples.push(counts);
      await sleep(1000);
    }
    // Only the running runs' messages (their leases) are in any lane, and no receive handed out a waiter's.
    expect(samples.map((counts) => counts.reduce((a, b) => a + b, 0))).toEqual(samples.map(() => 4));
    expect(received).toBe(0);
    const waited = await s.client.getRun(waiting[0]?.runId ?? "");
    expect(waited).toMatchObject({ status: "Pending", attempt: 0, waitingFor: "job limit" });
    release();
    const done = await Promise.all(waiting.map((r) => s.client.wait(r.runId)));
    expect(done.every((r) => r.status === "Succeeded" && r.attempt === 1)).toBe(true);
  }, 240_000);
});

describe("N9: a parent awaiting its children in its own limited queue", () => {
  it("finishes: its children run under its slot", async () => {
    const app = new JobApp();
    app.addQueue("solo", { maxConcurrency: 1 });
    const child = app.addJob("Child", ({ n }: { n: number }) => n * 2).withQueue("solo");
    const parent = app
      .addJob("Parent", async (_: undefined, ctx) => {
        const a = await ctx.client.run(child, { n: 1 });
        const b = await ctx.client.run(child, { n: 2 });
        return a + b;
      })
      .withQueue("solo");
    system = await startTestSystem({ app, workers: 1 });
    const run = await system.client.trigger(parent);
    const done = await system.client.wait(run.runId);
    expect(done).toMatchObject({ status: "Succeeded", result: 6 });
    const queues = await system.client.getQueues();
    expect(queues.find((q) => q.name === "solo")).toMatchObject({ running: 0, waiting: 0 });
  }, 60_000);
});

describe("the maintenance pass's limits janitor", () => {
  it("frees a slot no run holds and wakes the run waiting for it", async () => {
    const app = new JobApp();
    const job = app.addJob("Solo", () => "ran").withMaxConcurrency(1);
    system = await startTestSystem({ app, workers: 1, timer: false });
    const s = system;
    // A slot left by nobody (deleted out of band): the limit looks full.
    await s.store.doc.send(
      new PutCommand({
        TableName: s.store.tableName,
        Item: { ...slotKey(jobLimitKey("Solo"), 0, 1), kind: "slot", runId: "gone", attempt: 1 },
      }),
    );
    const run = await s.client.trigger(job);
    for (let i = 0; i < 100 && (await s.client.getRun(run.runId)).waitingFor === undefined; i++)
      await sleep(50);
    expect((await s.client.getRun(run.runId)).waitingFor).toBe("job limit");
    const report = await runMaintenance({ store: s.store, dispatcher: s.dispatcher, app });
    expect(report.limits).toEqual({ freedSlots: 1, woken: 1 });
    expect((await s.client.wait(run.runId)).status).toBe("Succeeded");
  }, 30_000);

  it("a waker whose slot another waker took meanwhile reads the limit again and hands its waiter another free slot", async () => {
    const app = new JobApp();
    const job = app.addJob("Trio", () => "ran").withMaxConcurrency(3);
    system = await startTestSystem({ app, workers: 0, timer: false, streams: false });
    const { store, dispatcher } = system;
    const list = { key: jobLimitKey("Trio"), shards: 1 };
    const holdSlot = (k: number, runId: string) =>
      store.doc.send(
        new PutCommand({
          TableName: store.tableName,
          Item: { ...slotKey(list.key, k, list.shards), kind: "slot", runId, attempt: 1 },
        }),
      );
    await holdSlot(0, "busy");
    const waiting = await system.client.trigger(job);
    const run = await store.get(waiting.runId);
    if (!run) throw new Error("no run item");
    expect(await enterWaitList(store, run, list, "job limit", 0)).toBeUndefined();
    // Another waker takes the very slot this one picked, between its read and its write.
    let raced: number | undefined;
    const racingDoc = {
      send: async (command: Parameters<DynamoDBDocumentClient["send"]>[0]) => {
        const slotPut = (command instanceof TransactWriteCommand ? command.input.TransactItems : [])
          ?.map((item) => item.Put?.Item)
          .find((item) => item?.kind === "slot");
        if (raced === undefined && slotPut) {
          raced = Number(String(slotPut.sk).replace(/\D/g, ""));
          await holdSlot(raced, "other waker's run");
        }
        return store.doc.send(command as never);
      },
    } as unknown as DynamoDBDocumentClient;
    const racingStore = Object.assign(Object.create(store), { doc: racingDoc }) as typeof store;
    expect(await wakeNext({ store: racingStore, dispatcher }, list, 1, { slots: 3 })).toBe(1);
    const woken = await store.get(waiting.runId);
    expect(woken?.slots).toHaveLength(1);
    expect(woken?.slots?.[0]?.sk).not.toBe(slotKey(list.key, raced ?? -1, list.shards).sk);
    expect(woken?.waitingFor).toBeUndefined();
  }, 30_000);
});
