import { afterEach, describe, expect, it } from "vitest";
import {
  JobApp,
  JobRunError,
  RunConflictError,
  RunHasNoResultError,
  RunNotFoundError,
} from "../../sdk/src/index.js";
import { startTestSystem, type TestSystem } from "../support/test-system.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let system: TestSystem | undefined;
afterEach(async () => {
  await system?.stop();
  system = undefined;
});

function jobs() {
  const app = new JobApp();
  const add = app.addJob("Add", ({ a, b }: { a: number; b: number }) => a + b);
  const nothing = app.addJob("Nothing", () => undefined);
  const fail = app.addJob("Fail", () => {
    throw new TypeError("bad thing");
  });
  const child = app.addJob("Child", async (_: undefined, ctx) => {
    await new Promise((_r, reject) => ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason)));
  });
  const parent = app.addJob("Parent", async (_: undefined, ctx) => {
    const sum = await ctx.client.run(add, { a: 2, b: 3 });
    return { sum };
  });
  return { app, add, nothing, fail, child, parent };
}

describe("run lifecycle", () => {
  it("runs a job and returns its typed result", async () => {
    // Arrange
    const { app, add } = jobs();
    system = await startTestSystem({ app });
    // Act
    const sum: number = await system.client.run(add, { a: 1, b: 2 });
    // Assert
    expect(sum).toBe(3);
  });

  it("records status events in order for a run", async () => {
    const { app, add } = jobs();
    system = await startTestSystem({ app });
    const run = await system.client.trigger(add, { a: 1, b: 1 });
    expect(run.status).toBe("Pending");
    expect(run.attempt).toBe(0);
    const done = await system.client.wait(run.runId);
    expect(done.status).toBe("Succeeded");
    expect(done.attempt).toBe(1);
    expect(done.result).toBe(2);
    expect(done.progress).toBe(1);
    const events = [];
    for await (const e of system.store.events(run.runId)) events.push(e);
    expect(events.map((e) => e.eventId)).toEqual([1, 2, 3]);
    expect(events.map((e) => (e.type === "status" ? e.status : e.type))).toEqual([
      "Pending",
      "Running",
      "Succeeded",
    ]);
  });

  it("distinguishes no result from a null result", async () => {
    const { app, nothing } = jobs();
    system = await startTestSystem({ app });
    const run = await system.client.trigger(nothing);
    await expect(system.client.waitResult(run.runId)).rejects.toBeInstanceOf(RunHasNoResultError);
    expect(await system.client.run(nothing)).toBeUndefined();
  });

  it("throws JobRunError carrying the failed run and its error", async () => {
    const { app, fail } = jobs();
    system = await startTestSystem({ app });
    const error = await system.client.run(fail).catch((e) => e);
    expect(error).toBeInstanceOf(JobRunError);
    expect(error.status).toBe("Failed");
    expect(error.run.error).toMatchObject({ type: "TypeError", message: "bad thing" });
  });

  it("links a child run to its parent and root", async () => {
    const { app, parent } = jobs();
    system = await startTestSystem({ app });
    const run = await system.client.trigger(parent);
    expect(await system.client.waitResult(run.runId)).toEqual({ sum: 5 });
    const children = [];
    for await (const c of system.client.getRuns({ parentRunId: run.runId })) children.push(c);
    expect(children).toHaveLength(1);
    expect(children[0]).toMatchObject({
      jobName: "Add",
      parentRunId: run.runId,
      rootRunId: run.runId,
      result: 5,
    });
  });

  it("cancels a running run and its descendants, aborting the handler", async () => {
    const app = new JobApp();
    let aborted = false;
    const child = app.addJob("Child", async (_: undefined, ctx) => {
      await new Promise((_r, reject) =>
        ctx.signal.addEventListener("abort", () => {
          aborted = true;
          reject(ctx.signal.reason);
        }),
      );
    });
    const parent = app.addJob("Parent", async (_: undefined, ctx) =>
      ctx.client.run(child, undefined, { signal: ctx.signal }),
    );
    system = await startTestSystem({ app, worker: { concurrency: 4 } });
    const run = await system.client.trigger(parent);
    let kids: string[] = [];
    for (let i = 0; i < 100 && kids.length === 0; i++) {
      await sleep(50);
      kids = [];
      for await (const c of system.client.getRuns({ parentRunId: run.runId, status: "Running" }))
        kids.push(c.runId);
    }
    expect(kids).toHaveLength(1);
    const outcome = await system.client.cancel(run.runId);
    expect(outcome).toEqual({ runId: run.runId, canceled: true, status: "Canceled" });
    // The descendants are canceled from the table's stream, not by the call (or by the
    // parent's handler, which owns its child's run, once it sees its signal abort).
    expect((await system.client.wait(kids[0] as string)).status).toBe("Canceled");
    for (let i = 0; i < 40 && !aborted; i++) await sleep(50);
    expect(aborted).toBe(true);
    expect(await system.client.cancel(run.runId)).toEqual({
      runId: run.runId,
      canceled: false,
      status: "Canceled",
    });
  });

  it("owner abort cancels the run; observer abort leaves it running", async () => {
    const { app, child } = jobs();
    system = await startTestSystem({ app });
    const owner = new AbortController();
    const owned = system.client.run(child, undefined, { signal: owner.signal });
    await sleep(300);
    owner.abort(new Error("caller gave up"));
    await expect(owned).rejects.toThrow("caller gave up");
    const runs = [];
    for await (const r of system.client.getRuns({ jobName: "Child" })) runs.push(r);
    // The cancel is stored before run() rejects: no waiting needed.
    const ownedRun = await system.client.getRun(runs[0]?.runId as string);
    expect(ownedRun.status).toBe("Canceled");

    const observed = await system.client.trigger(child);
    const observer = new AbortController();
    const waiting = system.client.wait(observed.runId, { signal: observer.signal });
    observer.abort(new Error("stop watching"));
    await expect(waiting).rejects.toThrow("stop watching");
    expect((await system.client.getRun(observed.runId)).status).not.toBe("Canceled");
  });

  it("frees a deduplication id when its holder finishes", async () => {
    const { app, add } = jobs();
    system = await startTestSystem({ app });
    // Due in an hour, so it cannot finish before the second trigger (Add ends in milliseconds).
    const first = await system.client.trigger(
      add,
      { a: 1, b: 1 },
      { deduplicationId: "d-1", notBefore: new Date(Date.now() + 3_600_000) },
    );
    const conflict = await system.client
      .trigger(add, { a: 1, b: 1 }, { deduplicationId: "d-1" })
      .catch((e) => e);
    expect(conflict).toBeInstanceOf(RunConflictError);
    expect(conflict.existingRunId).toBe(first.runId);
    await system.client.cancel(first.runId);
    expect((await system.client.wait(first.runId)).status).toBe("Canceled");
    const second = await system.client.trigger(add, { a: 1, b: 1 }, { deduplicationId: "d-1" });
    expect(second.runId).not.toBe(first.runId);
  });

  it("creates exactly one run from ten concurrent triggers with one deduplication id", async () => {
    const { app, child } = jobs();
    system = await startTestSystem({ app });
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, () => system?.client.trigger(child, undefined, { deduplicationId: "same" })),
    );
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    const rejected = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
    expect(rejected.every((r) => r.reason instanceof RunConflictError)).toBe(true);
  });

  it("reruns a finished run with the same arguments", async () => {
    const { app, add } = jobs();
    system = await startTestSystem({ app });
    const first = await system.client.trigger(add, { a: 4, b: 5 });
    await system.client.wait(first.runId);
    const rerun = await system.client.rerun(first.runId);
    expect(rerun.rerunOfRunId).toBe(first.runId);
    expect(rerun.args).toEqual({ a: 4, b: 5 });
    expect(await system.client.waitResult(rerun.runId)).toBe(9);
  });

  it("throws RunNotFoundError for an unknown run id", async () => {
    const { app } = jobs();
    system = await startTestSystem({ app });
    await expect(system.client.getRun("nope")).rejects.toBeInstanceOf(RunNotFoundError);
    await expect(system.client.cancel("nope")).rejects.toBeInstanceOf(RunNotFoundError);
  });

  it("ends at once when observation resumes after the last event of a finished run", async () => {
    const { app, add } = jobs();
    system = await startTestSystem({ app });
    const run = await system.client.trigger(add, { a: 1, b: 1 });
    const done = await system.client.wait(run.runId);
    const after = [];
    for await (const e of system.client.observeRunEvents(done.runId, { sinceEventId: 3 })) after.push(e);
    expect(after).toEqual([]);
  });

  it("stops a worker whose slots are all busy after the shutdown grace, handing both runs back with no failed attempt", async () => {
    const { app, child } = jobs();
    system = await startTestSystem({ app, workers: 0 });
    const worker = system.addWorker({ concurrency: 2, shutdownGraceMs: 200 });
    const runs = [await system.client.trigger(child), await system.client.trigger(child)];
    for (let i = 0; i < 100 && worker.activeCount < 2; i++) await sleep(50);
    expect(worker.activeCount).toBe(2);
    await worker.stop();
    expect(worker.activeCount).toBe(0);
    for (const r of runs) {
      const run = await system.client.getRun(r.runId);
      expect(run.status).toBe("Pending");
      expect(run.error).toBeUndefined();
      expect(run.attempt).toBe(1); // the next claim makes it 2, fencing the stopped attempt
    }
  });
});
