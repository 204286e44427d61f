import { afterEach, describe, expect, it } from "vitest";
import { JobApp, JobRunError, NonRetriableError } from "../../sdk/src/index.js";
import { startTestSystem, type TestSystem } from "../support/test-system.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let system: TestSystem | undefined;
afterEach(async () => {
  await system?.stop();
  system = undefined;
});

async function statusEvents(s: TestSystem, runId: string) {
  const events = [];
  for await (const e of s.store.events(runId)) if (e.type === "status") events.push(e);
  return events;
}

describe("retries and timeouts", () => {
  it("retries a failing attempt with backoff and records each failure", async () => {
    // Arrange
    const app = new JobApp();
    const flaky = app
      .addJob("Flaky", (_: undefined, ctx) => {
        if (ctx.attempt < 3) throw new Error(`boom ${ctx.attempt}`);
        return ctx.attempt;
      })
      .withRetry({ maxRetries: 3, initialDelay: "100ms", jitter: 0 });
    system = await startTestSystem({ app });
    // Act
    const run = await system.client.trigger(flaky);
    const result = await system.client.waitResult(run.runId);
    // Assert
    expect(result).toBe(3);
    const done = await system.client.getRun(run.runId);
    expect(done.attempt).toBe(3);
    expect(done.error).toBeUndefined();
    const statuses = await statusEvents(system, run.runId);
    expect(statuses.map((e) => e.status)).toEqual([
      "Pending",
      "Running",
      "Pending",
      "Running",
      "Pending",
      "Running",
      "Succeeded",
    ]);
    expect(statuses.filter((e) => e.reason === "retry").map((e) => e.error?.message)).toEqual([
      "boom 1",
      "boom 2",
    ]);
  });

  it("fails the run with the last attempt's error when retries run out", async () => {
    const app = new JobApp();
    const always = app
      .addJob("Always", (_: undefined, ctx) => {
        throw new Error(`attempt ${ctx.attempt} failed`);
      })
      .withRetry({ maxRetries: 1, initialDelay: "50ms" });
    system = await startTestSystem({ app });
    const error = await system.client.run(always).catch((e) => e);
    expect(error).toBeInstanceOf(JobRunError);
    expect(error.run).toMatchObject({ status: "Failed", attempt: 2, error: { message: "attempt 2 failed" } });
  });

  it("fails at once on NonRetriableError", async () => {
    const app = new JobApp();
    const job = app
      .addJob("Fatal", () => {
        throw new NonRetriableError("order does not exist");
      })
      .withRetry(5);
    system = await startTestSystem({ app });
    const error = await system.client.run(job).catch((e) => e);
    expect(error.run).toMatchObject({ status: "Failed", attempt: 1, error: { type: "NonRetriableError" } });
  });

  it("times out an attempt, aborts its signal, and applies the retry policy", async () => {
    const app = new JobApp();
    const reasons: string[] = [];
    const slow = app
      .addJob("Slow", async (_: undefined, ctx) => {
        await new Promise((_r, reject) =>
          ctx.signal.addEventListener("abort", () => {
            reasons.push((ctx.signal.reason as Error).name);
            reject(ctx.signal.reason);
          }),
        );
      })
      .withTimeout(300)
      .withRetry({ maxRetries: 1, initialDelay: "50ms" });
    system = await startTestSystem({ app });
    const error = await system.client.run(slow).catch((e) => e);
    expect(error.run).toMatchObject({ status: "Failed", attempt: 2, error: { type: "JobTimeoutError" } });
    expect(reasons).toEqual(["JobTimeoutError", "JobTimeoutError"]);
  });

  it("treats a handler's own abort error as a failure, not a cancel", async () => {
    const app = new JobApp();
    const job = app.addJob("OwnAbort", () => {
      throw new DOMException("The operation was aborted due to timeout", "TimeoutError");
    });
    system = await startTestSystem({ app });
    const error = await system.client.run(job).catch((e) => e);
    expect(error.run).toMatchObject({ status: "Failed", error: { type: "TimeoutError" } });
  });

  it("ends an owner Canceled when the child it awaits is canceled", async () => {
    const app = new JobApp();
    const child = app.addJob("Child", async (_: undefined, ctx) => {
      await new Promise((_r, reject) =>
        ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason)),
      );
    });
    const parent = app.addJob("Parent", (_: undefined, ctx) => ctx.client.run(child));
    system = await startTestSystem({ app, worker: { concurrency: 4 } });
    const run = await system.client.trigger(parent);
    let childId: string | undefined;
    for (let i = 0; i < 100 && !childId; i++) {
      await sleep(50);
      for await (const c of system.client.getRuns({ parentRunId: run.runId, status: "Running" }))
        childId = c.runId;
    }
    await system.client.cancel(childId as string);
    const done = await system.client.wait(run.runId);
    expect(done.status).toBe("Canceled");
    expect(done.cancelReason).toContain(childId);
  });
});

describe("notBefore, notAfter and priority", () => {
  it("does not start a run before notBefore", async () => {
    const app = new JobApp();
    const job = app.addJob("Later", () => Date.now());
    system = await startTestSystem({ app });
    const notBefore = new Date(Date.now() + 1500);
    const run = await system.client.trigger(job, undefined, { notBefore });
    expect(run.notBefore).toBe(notBefore.toISOString());
    const startedAtMs = await system.client.waitResult<number>(run.runId);
    expect(startedAtMs).toBeGreaterThanOrEqual(notBefore.getTime());
  });

  it("cancels a run whose notAfter passes with no worker polling", async () => {
    const app = new JobApp();
    const job = app.addJob("Deadline", () => "ran");
    system = await startTestSystem({ app, workers: 0 });
    const run = await system.client.trigger(job, undefined, { notAfter: new Date(Date.now() + 500) });
    const done = await system.client.wait(run.runId);
    expect(done.status).toBe("Canceled");
    expect(done.cancelReason).toMatch(/notAfter passed/);
  });

  it("releases a run due beyond the visibility hold through the local timer, then runs it", async () => {
    // Arrange: a clock the test moves
    let offsetMs = 0;
    const now = () => Date.now() + offsetMs;
    const app = new JobApp();
    const job = app.addJob("FarOff", () => "ran");
    system = await startTestSystem({ app, now });
    const notBefore = now() + 13 * 3600_000;
    // Act
    const run = await system.client.trigger(job, undefined, { notBefore: new Date(notBefore) });
    const stored = await system.store.get(run.runId);
    const timers = system.runTimer?.pending() ?? [];
    await sleep(300);
    const stillPending = await system.client.getRun(run.runId);
    offsetMs += notBefore - now();
    const done = await system.client.wait(run.runId);
    // Assert: not sent at trigger time; the timer (fired by the local timer loop) sent it when due
    expect(stored).toMatchObject({ enqueueCount: 1, timerRelease: 0 });
    expect(timers).toEqual([
      { name: `run-${run.runId}-0-release`, purpose: "release", runId: run.runId, atMs: notBefore },
    ]);
    expect(stillPending.status).toBe("Pending");
    expect(done.status).toBe("Succeeded");
    expect(Date.parse(done.startedAt ?? "")).toBeGreaterThanOrEqual(notBefore);
  });

  it("claims a high-priority run ahead of a backlog", async () => {
    const app = new JobApp();
    const order: string[] = [];
    const filler = app.addJob("Filler", async ({ i }: { i: number }) => {
      order.push(`filler-${i}`);
      await sleep(150);
    });
    const urgent = app.addJob("Urgent", () => {
      order.push("urgent");
    });
    system = await startTestSystem({ app, workers: 0 });
    for (let i = 0; i < 8; i++) await system.client.trigger(filler, { i });
    const run = await system.client.trigger(urgent, undefined, { priority: 10 });
    system.addWorker({ concurrency: 1 });
    await system.client.wait(run.runId);
    expect(order[0]).toBe("urgent");
  });
});
