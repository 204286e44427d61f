/**
 * Retry and cascade rules of SPEC.md ("Owners and children"), end to end on the local
 * emulators (issue 9, acceptance L6):
 *
 * - the children of a failed or recovered attempt are canceled before the retry starts;
 * - `cancel` writes the root only: the same requests for 10 descendants as for 1,000,
 *   and the table stream's cascade (`runs/cascade-cancel.ts`) cancels every descendant
 *   with no process waiting on them, even when the caller is killed right after its
 *   write, and when a stream batch fails;
 * - a child whose parent ended Canceled or Failed, or moved past its creating attempt,
 *   is canceled instead of started; a child of a Succeeded parent runs.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SQSClient } from "@aws-sdk/client-sqs";
import { afterEach, describe, expect, inject, it } from "vitest";
import { localClientConfig } from "../../local/aws-clients.js";
import { connect } from "../../sdk/src/connect.js";
import { failAttempt, succeed } from "../../sdk/src/domain/transitions.js";
import { JobApp } from "../../sdk/src/index.js";
import { RequestCounter } from "../../sdk/src/metrics/request-counter.js";
import { addMiddleware } from "../../sdk/src/metrics/sdk-middleware.js";
import { applyTransition, cancelRun } from "../../sdk/src/runs/lifecycle.js";
import { readRuns } from "../../sdk/src/store/listing.js";
import type { RunItem } from "../../sdk/src/store/run-item.js";
import type { RunStore } from "../../sdk/src/store/run-store.js";
import { startChildWorker } from "../support/child-worker.js";
import { createTestResources, type TestResources, useOwnDynamoDbLocal } from "../support/local-resources.js";
import { type RunTree, seedRunTree } from "../support/run-tree.js";
import { spawnChild } from "../support/spawn-child.js";
import { startTestSystem, type TestSystem } from "../support/test-system.js";

useOwnDynamoDbLocal();

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let system: TestSystem | undefined;
afterEach(async () => {
  await system?.stop();
  system = undefined;
});

/** Polls `check` every 100 ms until it returns a value, for at most `timeoutMs`; throws after. */
async function until<T>(check: () => Promise<T | undefined>, what: string, timeoutMs = 60_000): Promise<T> {
  for (const stopAt = Date.now() + timeoutMs; Date.now() < stopAt; ) {
    const value = await check();
    if (value !== undefined) return value;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** The runs `ids` as stored now (100 per `BatchGetItem`). */
async function readAll(store: RunStore, ids: readonly string[]): Promise<RunItem[]> {
  const runs: RunItem[] = [];
  const keys = (async function* () {
    for (const runId of ids) yield { runId, createdSk: "" };
  })();
  for await (const run of readRuns(store, keys)) runs.push(run);
  return runs;
}

/** Resolves once every run of the tree below the root is Canceled; returns them. */
function allCanceled(store: RunStore, tree: RunTree): Promise<RunItem[]> {
  return until(async () => {
    const runs = await readAll(store, tree.descendants);
    return runs.length === tree.descendants.length && runs.every((r) => r.status === "Canceled")
      ? runs
      : undefined;
  }, `${tree.descendants.length} descendants Canceled`);
}

/** A job whose handler waits for its signal. */
function addHang(app: JobApp) {
  return app.addJob("Hang", (_: undefined, ctx) => {
    return new Promise<never>((_r, reject) =>
      ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason)),
    );
  });
}

/** A client of the system's table and lanes on AWS SDK clients of its own (no fault of the system's), with its DynamoDB requests counted. */
function ownClient(resources: TestResources) {
  const dynamodb = new DynamoDBClient(localClientConfig(resources.dynamoDbEndpoint));
  const counter = new RequestCounter();
  counter.attach(dynamodb, "DynamoDB");
  const { client, store } = connect({
    ...resources,
    dynamodb,
    sqs: new SQSClient(localClientConfig(inject("sqsEndpoint"))),
  });
  return { client, store, counter };
}

describe("retrying an attempt that started children", () => {
  it("cancels the child a failed attempt started before the retry starts", async () => {
    // Arrange: attempt 1 starts a child, waits for it to run, then fails with a retry left
    const app = new JobApp();
    const hang = addHang(app);
    let firstChild: string | undefined;
    const parent = app
      .addJob("Parent", async (_: undefined, ctx) => {
        if (ctx.attempt === 1) {
          const child = await ctx.client.trigger(hang);
          firstChild = child.runId;
          await until(
            async () => ((await ctx.client.getRun(child.runId)).status === "Running" ? true : undefined),
            "the child Running",
          );
          throw new Error("transient");
        }
        // Attempt 2: what its handler finds when it starts.
        return (await ctx.client.getRun(firstChild as string)).status;
      })
      .withRetry({ maxRetries: 1, initialDelay: "10ms" });
    system = await startTestSystem({ app, worker: { concurrency: 4 } });
    // Act
    const run = await system.client.trigger(parent);
    const done = await system.client.wait(run.runId);
    // Assert
    expect(done).toMatchObject({ status: "Succeeded", attempt: 2, result: "Canceled" });
    const child = await system.client.getRun(firstChild as string);
    expect(child.cancelReason).toBe(`parent run ${run.runId} attempt 1 ended without succeeding`);
  });

  it("cancels the child of an attempt whose worker process was killed, before the recovered retry starts", async () => {
    // Arrange: the child process's "FragileParent" starts a child of "Hang" and hangs;
    // this process's, on attempt 2, reports the children it finds when it starts
    const app = new JobApp();
    addHang(app);
    const fragileParent = app
      .addJob("FragileParent", async (_: undefined, ctx) => {
        const statuses: string[] = [];
        for await (const c of ctx.client.getRuns({ parentRunId: ctx.runId })) statuses.push(c.status);
        return { attempt: ctx.attempt, children: statuses };
      })
      .withRetry({ maxRetries: 2, initialDelay: "100ms" });
    system = await startTestSystem({ app, workers: 0 });
    const worker = startChildWorker(system.resources);
    try {
      const run = await system.client.trigger(fragileParent);
      await worker.printed(`started ${run.runId}`);
      // Act
      await worker.kill();
      system.addWorker({ concurrency: 4 });
      const done = await system.client.wait(run.runId);
      // Assert
      expect(done).toMatchObject({ status: "Succeeded", result: { attempt: 2, children: ["Canceled"] } });
      const events = [];
      for await (const e of system.store.events(run.runId)) events.push(e);
      expect(events).toContainEqual(
        expect.objectContaining({ type: "status", status: "Pending", reason: "lease expired" }),
      );
    } finally {
      await worker.kill();
    }
  });
});

describe("cascade cancel", () => {
  it("makes the same requests with 10 descendants as with 1,000, and every descendant ends Canceled", async () => {
    // Arrange: two trees, no worker; the caller has clients of its own
    system = await startTestSystem({ app: new JobApp(), workers: 0 });
    const small = await seedRunTree(system.store, [2, 4]);
    const large = await seedRunTree(system.store, [10, 99]);
    expect([small.descendants.length, large.descendants.length]).toEqual([10, 1000]);
    const { client, counter } = ownClient(system.resources);
    // Act
    await client.cancel(small.rootRunId);
    const forSmall = counter.table();
    counter.reset();
    await client.cancel(large.rootRunId);
    const forLarge = counter.table();
    // Assert: a Running root is a read, its last event id and one transaction
    expect(forLarge).toEqual(forSmall);
    expect(forSmall).toEqual({
      "DynamoDB.GetItem": 1,
      "DynamoDB.Query": 1,
      "DynamoDB.TransactWriteItems": 1,
    });
    const canceled = await allCanceled(system.store, large);
    await allCanceled(system.store, small);
    const byId = new Map(canceled.map((r) => [r.runId, r]));
    const child = canceled.find((r) => r.parentRunId === large.rootRunId) as RunItem;
    expect(child.cancelReason).toBe(`parent run ${large.rootRunId} ended Canceled`);
    const grandchild = canceled.find((r) => r.parentRunId !== large.rootRunId) as RunItem;
    expect(byId.get(grandchild.parentRunId as string)?.status).toBe("Canceled");
    expect(grandchild.cancelReason).toBe(`parent run ${grandchild.parentRunId} ended Canceled`);
  });

  it("cancels every descendant after the process that called cancel is killed right after its write", async () => {
    // Arrange
    system = await startTestSystem({ app: new JobApp(), workers: 0 });
    const tree = await seedRunTree(system.store, [10, 99]);
    // Act: the caller dies the moment the root's cancel committed
    const exit = await runKilledCanceler(system.resources, tree.rootRunId);
    // Assert
    expect(exit).toBe("SIGKILL");
    expect((await system.store.get(tree.rootRunId))?.status).toBe("Canceled");
    await allCanceled(system.store, tree);
  });

  it("carries on after a stream batch of the cascade fails: the batch is handed over again", async () => {
    // Arrange: the first two reads of children fail (the cascade's BatchGetItem; nothing else reads in batches here)
    const resources = await createTestResources();
    const fault = { failed: 0 };
    addMiddleware(resources.dynamodb, "build", "failChildReads", (next, operation) => async (args) => {
      if (operation === "BatchGetItem" && fault.failed < 2) {
        fault.failed++;
        throw Object.assign(new Error("injected: throttled"), { name: "ThrottlingException" });
      }
      return next(args);
    });
    system = await startTestSystem({ app: new JobApp(), resources, workers: 0 });
    const tree = await seedRunTree(system.store, [3, 3]);
    // Act
    await system.client.cancel(tree.rootRunId);
    // Assert: read on clients of the test's own
    await allCanceled(ownClient(resources).store, tree);
    expect(fault.failed).toBe(2);
  });

  it("cancels the children of a Succeeded child too (its fire-and-forget children), naming the cause", async () => {
    // Arrange: root → child (Succeeded, had children) → grandchild (Pending)
    system = await startTestSystem({ app: new JobApp(), workers: 0 });
    const tree = await seedRunTree(system.store, [1, 1]);
    const [childId, grandchildId] = tree.descendants as [string, string];
    const child = (await system.store.get(childId)) as RunItem;
    await applyTransition(system.store, child, (r) => succeed(r, 1, {}, Date.now()));
    // Act
    await system.client.cancel(tree.rootRunId);
    // Assert
    const grandchild = await until(async () => {
      const run = await system?.store.get(grandchildId);
      return run?.status === "Canceled" ? run : undefined;
    }, "the grandchild Canceled");
    expect(grandchild.cancelReason).toBe(
      `parent run ${childId} succeeded, but run ${tree.rootRunId} ended Canceled`,
    );
    expect((await system.store.get(childId))?.status).toBe("Succeeded");
  });
});

describe("a child whose parent moved on", () => {
  /** Ends the parent of a seeded one-child tree in `how`, with no stream consumer to cascade. */
  const parentEnds: Record<string, (store: RunStore, parent: RunItem) => Promise<unknown>> = {
    Canceled: (store, parent) => cancelRun(store, parent, "test", Date.now),
    Failed: (store, parent) =>
      applyTransition(store, parent, (r) =>
        failAttempt(r, 1, { type: "Error", message: "x" }, undefined, Date.now()),
      ),
    "retried (Pending)": (store, parent) =>
      applyTransition(store, parent, (r) =>
        failAttempt(r, 1, { type: "Error", message: "x" }, Date.now() + 3_600_000, Date.now()),
      ),
  };

  it.each(Object.keys(parentEnds))("is canceled at claim, never started, when its parent %s", async (how) => {
    // Arrange: streams off, so only the claim's check can stop the child
    let executions = 0;
    const app = new JobApp();
    app.addJob("Node", () => {
      executions++;
    });
    system = await startTestSystem({ app, streams: false });
    const tree = await seedRunTree(system.store, [1]);
    const [childId] = tree.descendants as [string];
    await parentEnds[how]?.(system.store, (await system.store.get(tree.rootRunId)) as RunItem);
    // Act: the child's wake-up
    await system.dispatcher.send((await system.store.get(childId)) as RunItem);
    const done = await system.client.wait(childId);
    // Assert
    expect(done).toMatchObject({ status: "Canceled", attempt: 0 });
    expect(done.cancelReason).toContain(`parent run ${tree.rootRunId}`);
    expect(executions).toBe(0);
  });

  it("runs when its parent succeeded on the attempt that created it (a fire-and-forget child)", async () => {
    let executions = 0;
    const app = new JobApp();
    app.addJob("Node", () => {
      executions++;
      return "ran";
    });
    system = await startTestSystem({ app, streams: false });
    const tree = await seedRunTree(system.store, [1]);
    const [childId] = tree.descendants as [string];
    const root = (await system.store.get(tree.rootRunId)) as RunItem;
    await applyTransition(system.store, root, (r) => succeed(r, 1, {}, Date.now()));
    await system.dispatcher.send((await system.store.get(childId)) as RunItem);
    const done = await system.client.wait(childId);
    expect(done).toMatchObject({ status: "Succeeded", attempt: 1, result: "ran" });
    expect(executions).toBe(1);
  });
});

/** Runs the killed canceler on `rootRunId`; resolves with the signal that ended it. */
function runKilledCanceler(resources: TestResources, rootRunId: string): Promise<NodeJS.Signals | null> {
  const child = spawnChild("killed-canceler.ts", resources, { env: { ROOT_RUN_ID: rootRunId } });
  return new Promise((resolve) => child.on("exit", (_code, signal) => resolve(signal)));
}
