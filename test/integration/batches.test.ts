/**
 * Batches (issue 10) end to end on the local emulators: creation and its validation,
 * order and failure rules of each consumption style, counts from the stream, crash and
 * repeat during creation, one-write cancel and the claim-time check, event log resume.
 * The 10,000-child figures are `npx tsx bench/batch.ts`.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SQSClient } from "@aws-sdk/client-sqs";
import { ScanCommand } from "@aws-sdk/lib-dynamodb";
import { marshall } from "@aws-sdk/util-dynamodb";
import { afterEach, describe, expect, inject, it } from "vitest";
import { localClientConfig } from "../../local/aws-clients.js";
import { batchIdFor, readBatchRecord } from "../../sdk/src/batches/batch-creation.js";
import { createBatchDriverHandler } from "../../sdk/src/batches/batch-driver.js";
import { abortableSleep } from "../../sdk/src/client/abortable-sleep.js";
import { connect } from "../../sdk/src/connect.js";
import {
  type BatchEvent,
  BatchNotFoundError,
  JobApp,
  JobClient,
  type JobRun,
  JobRunError,
  RunConflictError,
  ValidationError,
} from "../../sdk/src/index.js";
import { RequestCounter } from "../../sdk/src/metrics/request-counter.js";
import { addMiddleware } from "../../sdk/src/metrics/sdk-middleware.js";
import type { RunStore } from "../../sdk/src/store/run-store.js";
import { createTestResources, type TestResources, useOwnDynamoDbLocal } from "../support/local-resources.js";
import { spawnChild } from "../support/spawn-child.js";
import { startTestSystem, type TestSystem } from "../support/test-system.js";

// Thousands of children: a DynamoDB Local of this file's own, so later files do not pay for them.
useOwnDynamoDbLocal();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let system: TestSystem | undefined;
afterEach(async () => {
  await system?.stop();
  system = undefined;
});

function jobs() {
  const app = new JobApp();
  const started = new Set<string>();
  const processOrder = app.addJob(
    "ProcessOrder",
    async ({ orderId, ms }: { orderId: number; ms?: number }, ctx) => {
      started.add(ctx.runId);
      if (ms) await abortableSleep(ms, ctx.signal);
      if (orderId < 0) throw new Error(`order ${orderId} is invalid`);
      return { orderId, processed: true };
    },
  );
  app.addJob("EmailReceipt", ({ orderId }: { orderId: number }) => `receipt ${orderId}`);
  const hang = app.addJob("Hang", (_: undefined, ctx) => {
    started.add(ctx.runId);
    return new Promise<never>((_r, reject) =>
      ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason)),
    );
  });
  return { app, processOrder, hang, started };
}

/** Every item of the table whose pk starts with `prefix` (a test table is small). */
async function itemsWithPrefix(store: RunStore, prefix: string): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const out = await store.doc.send(
      new ScanCommand({
        TableName: store.tableName,
        FilterExpression: "begins_with(pk, :p)",
        ExpressionAttributeValues: { ":p": prefix },
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    items.push(...(out.Items ?? []));
    start = out.LastEvaluatedKey;
  } while (start);
  return items;
}

/** Resolves once every child of the batch is created. */
async function created(system: TestSystem, batchId: string): Promise<void> {
  for (;;) {
    const batch = await system.client.getBatch(batchId);
    if (batch.created === batch.total) return;
    await sleep(50);
  }
}

/** Runs the killed batch creator (`test/support/killed-batch-creator.ts`); resolves with the signal that ended it. */
function killedCreator(
  resources: TestResources,
  env: Record<string, string>,
): Promise<NodeJS.Signals | null> {
  const child = spawnChild("killed-batch-creator.ts", resources, { env });
  return new Promise((resolve) => child.on("exit", (_code, signal) => resolve(signal)));
}

/** A client of the system's table and lanes with its DynamoDB requests counted. */
function countedClient(resources: TestResources) {
  const dynamodb = new DynamoDBClient(localClientConfig(resources.dynamoDbEndpoint));
  const counter = new RequestCounter();
  counter.attach(dynamodb, "DynamoDB");
  const { client } = connect({
    ...resources,
    dynamodb,
    sqs: new SQSClient(localClientConfig(inject("sqsEndpoint"))),
  });
  return { client, counter };
}

describe("creating a batch", () => {
  it("runs a one-job batch and a mixed batch, results in commit order", async () => {
    // Arrange
    const { app, processOrder } = jobs();
    system = await startTestSystem({ app, worker: { concurrency: 8 } });
    // Act
    const [results, mixed] = await Promise.all([
      system.client.runBatch(processOrder, [{ orderId: 101 }, { orderId: 102 }, { orderId: 103 }]),
      system.client.runBatch([
        { job: "ProcessOrder", args: { orderId: 101 } },
        { job: "EmailReceipt", args: { orderId: 101 } },
      ]),
    ]);
    // Assert
    expect(results.map((r) => r.orderId)).toEqual([101, 102, 103]);
    expect(mixed).toEqual([{ orderId: 101, processed: true }, "receipt 101"]);
  });

  it("gives every child the batch's childOptions, in both forms; an item's own options override them", async () => {
    // Arrange
    const { app, processOrder } = jobs();
    system = await startTestSystem({ app, workers: 0, streams: false });
    const client = system.client;
    // Act
    const oneJob = await client.triggerBatch(processOrder, [{ orderId: 1 }], {
      childOptions: { priority: 7 },
    });
    const mixed = await client.triggerBatch(
      [
        { job: "ProcessOrder", args: { orderId: 1 } },
        { job: "EmailReceipt", args: { orderId: 1 }, options: { priority: -2 } },
      ],
      { childOptions: { priority: 7 } },
    );
    // Assert: the children's stored inputs carry the priorities
    const priorities = async (batchId: string) =>
      (await itemsWithPrefix(system?.store as RunStore, `BATCH#${batchId}`))
        .filter((item) => item.kind === "batchInputs")
        .flatMap((item) => (item.inputs as { priority: number }[]).map((input) => input.priority));
    expect(await priorities(oneJob.batchId)).toEqual([7]);
    expect(await priorities(mixed.batchId)).toEqual([7, -2]);
  });

  it("rejects bad input naming the item, and writes nothing", async () => {
    // Arrange: a run holding a deduplication id a batch item asks for
    const { app, processOrder, hang } = jobs();
    system = await startTestSystem({ app, workers: 0, streams: false });
    const holder = await system.client.trigger(hang, undefined, { deduplicationId: "only-one" });
    const client = system.client;
    // Act / Assert
    await expect(client.triggerBatch(processOrder, [])).rejects.toThrow(ValidationError);
    await expect(
      client.triggerBatch([
        { job: "ProcessOrder", args: { orderId: 1 } },
        { job: "Nope", args: {} },
      ]),
    ).rejects.toMatchObject({ name: "JobNotFoundError", batchIndex: 1, jobName: "Nope" });
    await expect(
      client.triggerBatch(processOrder, [{ orderId: 1 }, { orderId: new Date() as unknown as number }]),
    ).rejects.toMatchObject({ name: "ValidationError", path: "items[1].args.orderId" });
    await expect(
      client.triggerBatch([{ job: "ProcessOrder", args: { orderId: 1 }, options: { priority: 1.5 } }]),
    ).rejects.toMatchObject({ name: "ValidationError", path: "items[0].options.priority" });
    await expect(
      client.triggerBatch([{ job: "ProcessOrder", arg: { orderId: 1 } } as never]),
    ).rejects.toThrow(/items\[0\]\.arg: is not an option; did you mean "args"\?/);
    await expect(
      client.triggerBatch([
        { job: "Hang", options: { deduplicationId: "twice" } },
        { job: "ProcessOrder", args: { orderId: 1 }, options: { deduplicationId: "twice" } },
        { job: "Hang", options: { deduplicationId: "twice" } },
      ]),
    ).rejects.toMatchObject({
      name: "ValidationError",
      path: "items[2].options.deduplicationId",
      message: expect.stringMatching(/also the deduplication id of items\[0\]/),
    });
    await expect(
      client.triggerBatch(processOrder, [{ orderId: 1 }], {
        childOptions: { deduplicationId: "c" } as never,
      }),
    ).rejects.toMatchObject({ name: "ValidationError", path: "options.childOptions.deduplicationId" });
    const tooMany = Array.from({ length: 10_001 }, (_, orderId) => ({ orderId }));
    await expect(client.triggerBatch(processOrder, tooMany)).rejects.toThrow(/at most 10000/);
    const conflict = await client
      .triggerBatch([{ job: "Hang" }, { job: "Hang", options: { deduplicationId: "only-one" } }])
      .catch((e: unknown) => e);
    expect(conflict).toBeInstanceOf(RunConflictError);
    expect(conflict).toMatchObject({ batchIndex: 1, existingRunId: holder.runId });
    expect(await itemsWithPrefix(system.store, "BATCH#")).toEqual([]);
  });

  it("leaves no orphaned, missing or duplicated child when the creating process is killed midway, or a creating step fails", async () => {
    // Arrange: a child process is killed after its 1st PutItem (midway through the 2 input
    // chunks) and another right after its 3rd (the batch record); in this process, the
    // stream consumer's 60th child write fails once, as a crash of the creating step would
    const resources = await createTestResources();
    const fault = { armed: false, puts: 0, failed: 0 };
    addMiddleware(resources.dynamodb, "build", "crashMidCreation", (next, operation) => async (args) => {
      if (fault.armed && operation === "PutItem" && ++fault.puts === 60) {
        fault.failed++;
        throw Object.assign(new Error("injected: process died"), { name: "InternalServerError" });
      }
      return next(args);
    });
    const { app, processOrder } = jobs();
    system = await startTestSystem({ app, resources, workers: 2, worker: { concurrency: 16 } });
    const inputs = Array.from({ length: 120 }, (_, orderId) => ({ orderId }));
    fault.armed = true;
    // Act
    const killed = await Promise.all([
      killedCreator(resources, { DEDUP: "midway", KILL_AFTER_PUTS: "1", INPUTS: "120" }),
      killedCreator(resources, { DEDUP: "after-record", KILL_AFTER_PUTS: "3", INPUTS: "120" }),
    ]);
    const invisible = await system.client.getBatch(batchIdFor("midway")).catch((e: unknown) => e);
    const completed = await system.client.waitBatch(batchIdFor("after-record"));
    const first = await system.client.triggerBatch(processOrder, inputs, { deduplicationId: "midway" });
    const again = await system.client.triggerBatch(processOrder, inputs, { deduplicationId: "midway" });
    const repeated = await system.client.triggerBatch(processOrder, inputs, {
      deduplicationId: "after-record",
    });
    const done = await system.client.waitBatch(first.batchId);
    // Assert
    expect(killed).toEqual(["SIGKILL", "SIGKILL"]);
    expect(invisible).toBeInstanceOf(BatchNotFoundError);
    expect(fault.failed).toBe(1);
    expect(completed).toMatchObject({ status: "Completed", total: 120, created: 120 });
    expect(first.existing).toBe(false);
    expect(again).toMatchObject({ batchId: first.batchId, existing: true, total: 120 });
    expect(repeated).toMatchObject({ batchId: batchIdFor("after-record"), existing: true });
    expect(done).toMatchObject({ status: "Completed", total: 120, created: 120 });
    for (const batchId of [first.batchId, batchIdFor("after-record")]) {
      const children: JobRun[] = [];
      for await (const child of system.client.getRuns({ batchId })) children.push(child);
      expect(children.map((c) => c.batchOrdinal)).toEqual(inputs.map((_, i) => i));
      expect(children.map((c) => (c.result as { orderId: number }).orderId)).toEqual(
        inputs.map((i) => i.orderId),
      );
    }
    const runs = await itemsWithPrefix(system.store, "RUN#");
    expect(runs.filter((r) => r.sk === "#RUN")).toHaveLength(240);
  });
});

describe("consuming a batch", () => {
  // M1 at its stated size: 1,000 children (about 25 s here); `npx tsx bench/batch.ts` runs 10,000.
  it("returns results in commit order while children end in random order; waitEach yields each child once", async () => {
    // Arrange
    const { app, processOrder } = jobs();
    system = await startTestSystem({ app, workers: 2, worker: { concurrency: 32 } });
    const children = 1000;
    const inputs = Array.from({ length: children }, (_, orderId) => ({
      orderId,
      ms: Math.floor(Math.random() * 40),
    }));
    // Act
    const client = system.client;
    const handle = await client.triggerBatch(processOrder, inputs, { deduplicationId: "m1" });
    const each: JobRun[] = [];
    const eaching = (async () => {
      for await (const child of client.waitEach(handle.batchId)) each.push(child);
    })();
    // The same batch (same deduplication id), owned and awaited by runBatch
    const results = await client.runBatch(processOrder, inputs, { deduplicationId: "m1" });
    await eaching;
    // Assert
    expect(results.map((r) => r.orderId)).toEqual(inputs.map((i) => i.orderId));
    expect(each).toHaveLength(children);
    expect(new Set(each.map((c) => c.runId)).size).toBe(children);
    const order = each.map((c) => c.batchOrdinal as number);
    expect(order).not.toEqual([...order].sort((a, b) => a - b)); // they did end out of order
  });

  it("runBatch throws an AggregateError naming the failed child only after every other child ended", async () => {
    const { app, processOrder } = jobs();
    system = await startTestSystem({ app, workers: 1, worker: { concurrency: 8 } });
    const inputs = [
      { orderId: 1, ms: 600 },
      { orderId: -2 },
      { orderId: 3, ms: 600 },
      { orderId: 4, ms: 300 },
    ];
    // Act
    const error = await system.client.runBatch(processOrder, inputs).catch((e: unknown) => e);
    // Assert
    expect(error).toBeInstanceOf(AggregateError);
    const errors = (error as AggregateError).errors as JobRunError[];
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(JobRunError);
    expect(errors[0]?.run).toMatchObject({ batchOrdinal: 1, status: "Failed" });
    const batchId = errors[0]?.run.batchId as string;
    const statuses: string[] = [];
    for await (const child of system.client.getRuns({ batchId })) statuses.push(child.status);
    expect(statuses).toEqual(["Succeeded", "Failed", "Succeeded", "Succeeded"]);
  });

  it("streamBatch throws at the failed child while the rest keep running; waitBatch reports the counts", async () => {
    const { app, processOrder } = jobs();
    system = await startTestSystem({ app, workers: 1, worker: { concurrency: 8 } });
    const inputs = [{ orderId: 1, ms: 800 }, { orderId: -2 }, { orderId: 3, ms: 800 }];
    const yielded: unknown[] = [];
    // Act
    const error = await (async () => {
      for await (const result of system.client.streamBatch(processOrder, inputs)) yielded.push(result);
    })().catch((e: unknown) => e);
    // Assert
    expect(error).toBeInstanceOf(JobRunError);
    const failed = (error as JobRunError).run;
    expect(failed).toMatchObject({ batchOrdinal: 1, status: "Failed" });
    expect(yielded).toEqual([]);
    const atThrow = await system.client.getBatch(failed.batchId as string);
    expect(atThrow.status).toBe("Running");
    const done = await system.client.waitBatch(failed.batchId as string);
    expect(done.cancelReason).toBeUndefined();
    expect(done.counts).toMatchObject({ Succeeded: 2, Failed: 1, Canceled: 0, Pending: 0, Running: 0 });
  });

  it("leaving streamBatch early cancels the batch", async () => {
    const { app, processOrder } = jobs();
    system = await startTestSystem({ app, workers: 1, worker: { concurrency: 8 } });
    const inputs = [{ orderId: 1 }, { orderId: 2, ms: 60_000 }, { orderId: 3, ms: 60_000 }];
    // Act
    for await (const result of system.client.streamBatch(processOrder, inputs, {
      deduplicationId: "leave",
    })) {
      expect(result).toMatchObject({ orderId: 1 });
      break;
    }
    // Assert
    const done = await system.client.waitBatch(batchIdFor("leave"));
    expect(done.cancelReason).toBe("the consumer that owns the batch stopped");
    expect(done.counts).toMatchObject({ Succeeded: 1, Canceled: 2 });
  });

  it("aborting runBatch's signal cancels the batch", async () => {
    const { app, hang } = jobs();
    system = await startTestSystem({ app, worker: { concurrency: 8 } });
    const owner = new AbortController();
    setTimeout(() => owner.abort(new Error("caller gave up")), 200);
    // Act
    const error = await system.client
      .runBatch(hang, [undefined, undefined], { signal: owner.signal, deduplicationId: "abort-me" })
      .catch((e: unknown) => e);
    // Assert
    expect(error).toMatchObject({ message: "caller gave up" });
    const done = await system.client.waitBatch(batchIdFor("abort-me"));
    expect(done).toMatchObject({ cancelReason: "the caller that owns the batch aborted" });
    expect(done.counts.Canceled).toBe(2);
  });
});

describe("canceling a batch", () => {
  it("makes the same requests for 10 children as for 1,000, and every child ends Canceled", async () => {
    // Arrange: no workers, so every child is still Pending when the cancel comes
    const { app } = jobs();
    system = await startTestSystem({ app, workers: 0 });
    const { client, counter } = countedClient(system.resources);
    const batches = await Promise.all(
      [10, 1000].map((size) =>
        system?.client.triggerBatch(
          "Hang",
          Array.from({ length: size }, () => undefined),
        ),
      ),
    );
    const requests: Record<string, number>[] = [];
    for (const batch of batches) {
      await created(system, batch?.batchId as string);
      // Act
      counter.reset();
      await client.cancelBatch(batch?.batchId as string);
      requests.push(counter.table());
    }
    // Assert
    expect(requests[0]).toEqual({ "DynamoDB.Query": 1, "DynamoDB.UpdateItem": 1 });
    expect(requests[1]).toEqual(requests[0]);
    for (const batch of batches) {
      const done = await system.client.waitBatch(batch?.batchId as string);
      expect(done.counts.Canceled).toBe(batch?.total);
    }
  });

  it("writes nothing and says canceled: false for a batch that already completed", async () => {
    // Arrange
    const { app, processOrder } = jobs();
    system = await startTestSystem({ app, workers: 1 });
    const batch = await system.client.triggerBatch(processOrder, [{ orderId: 1 }, { orderId: 2 }]);
    await system.client.waitBatch(batch.batchId);
    // Act
    const outcome = await system.client.cancelBatch(batch.batchId);
    // Assert
    expect(outcome).toEqual({ batchId: batch.batchId, canceled: false });
    const after = await system.client.getBatch(batch.batchId);
    expect(after).toMatchObject({ status: "Completed", counts: { Succeeded: 2, Canceled: 0 } });
    expect(after.cancelReason).toBeUndefined();
  });

  it("cancels the batch a job created when that job's run is canceled", async () => {
    // Arrange: a parent that starts a batch of Hang children, then waits for it
    const { app, hang } = jobs();
    let batchId: string | undefined;
    const parent = app.addJob("BatchParent", async (_: undefined, ctx) => {
      const batch = await ctx.client.triggerBatch(hang, [undefined, undefined, undefined]);
      batchId = batch.batchId;
      await ctx.client.waitBatch(batch.batchId, { signal: ctx.signal });
    });
    system = await startTestSystem({ app, worker: { concurrency: 8 } });
    const run = await system.client.trigger(parent);
    while (batchId === undefined || (await system.client.getBatch(batchId)).counts.Running < 3)
      await sleep(50);
    // Act
    await system.client.cancel(run.runId);
    // Assert
    const done = await system.client.waitBatch(batchId);
    expect(done).toMatchObject({
      parentRunId: run.runId,
      cancelReason: `parent run ${run.runId} ended Canceled`,
    });
    expect(done.counts.Canceled).toBe(3);
    const children: JobRun[] = [];
    for await (const child of system.client.getRuns({ batchId })) children.push(child);
    expect(children.map((c) => c.parentRunId)).toEqual([run.runId, run.runId, run.runId]);
    const listed: JobRun[] = [];
    for await (const child of system.client.getRuns({ parentRunId: run.runId })) listed.push(child);
    expect(listed).toEqual([]); // the children hang off the batch, not the parent's index
  });

  it("cancels a child claimed after cancelBatch returned instead of starting it", async () => {
    // Arrange: no stream consumers, so the canceller never runs and only the claim sees the cancel
    const { app, hang, started } = jobs();
    system = await startTestSystem({ app, workers: 0, streams: false });
    const batch = await system.client.triggerBatch(hang, [undefined, undefined, undefined]);
    const record = await readBatchRecord(system.store, batch.batchId);
    await createBatchDriverHandler({ store: system.store }).call(undefined, {
      Records: [{ eventName: "INSERT", dynamodb: { NewImage: marshall(record) as never } }],
    });
    // Act
    await system.client.cancelBatch(batch.batchId);
    system.addWorker();
    const ids = [0, 1, 2].map((o) => batch.childRunId(o));
    await system.dispatcher.sendBatch(
      await Promise.all(ids.map(async (id) => (await system?.store.get(id)) as never)),
    );
    // Assert
    for (const id of ids) {
      const child = await system.client.wait(id);
      expect(child).toMatchObject({
        status: "Canceled",
        attempt: 0,
        cancelReason: `batch ${batch.batchId} canceled by request`,
      });
    }
    expect(started.size).toBe(0);
  });
});

describe("observing a batch", () => {
  it.each([
    ["polling", false],
    ["the WebSocket API", true],
  ])(
    "resumes observeBatchEvents from its last id with no gap and no duplicate, over %s",
    async (_, overSocket) => {
      const { app, processOrder } = jobs();
      system = await startTestSystem({ app, workers: 1, worker: { concurrency: 16 }, realtime: overSocket });
      const realtime = system.realtime;
      // Over the socket, no idle safety read within the test: only the pushed frames wake the reader.
      const client = realtime
        ? new JobClient({
            store: system.store,
            dispatcher: system.dispatcher,
            app,
            maxPollIntervalMs: 60_000,
            webSocket: { url: realtime.url, token: realtime.token, safetyReadMs: 60_000 },
          })
        : system.client;
      const inputs = Array.from({ length: 60 }, (_, orderId) => ({
        orderId,
        ms: Math.floor(Math.random() * 20),
      }));
      const batch = await system.client.triggerBatch(processOrder, inputs);
      // Act: read to the middle while the batch runs, stop, resume from the last id
      const seen: BatchEvent[] = [];
      for await (const event of client.observeBatchEvents(batch.batchId)) {
        seen.push(event);
        if (seen.length === 90) break;
      }
      for await (const event of client.observeBatchEvents(batch.batchId, {
        sinceEventId: seen.at(-1)?.eventId as string,
      }))
        seen.push(event);
      // Assert: each child's Pending, Running and terminal status, once each and in that order
      const full: BatchEvent[] = [];
      for await (const event of system.client.observeBatchEvents(batch.batchId)) full.push(event);
      expect(seen).toHaveLength(180);
      expect(new Set(seen.map((e) => `${e.ordinal}:${e.status}`)).size).toBe(180);
      expect(new Set(seen.map((e) => e.eventId)).size).toBe(180);
      for (let o = 0; o < 60; o++) {
        const statuses = seen.filter((e) => e.ordinal === o).map((e) => e.status);
        expect(statuses.slice(0, 2)).toEqual(["Pending", "Running"]);
        expect(["Succeeded", "Failed", "Canceled"]).toContain(statuses[2]);
      }
      expect(full.map((e) => `${e.ordinal}:${e.status}`).sort()).toEqual(
        seen.map((e) => `${e.ordinal}:${e.status}`).sort(),
      );
    },
  );
});
