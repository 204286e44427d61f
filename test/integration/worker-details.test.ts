/**
 * The worker's small promises (issue "worker faults", L10): given-up handlers that ignore
 * their signal, renewals that never overlap, no listener warning for many children on one
 * signal, the cancel reason in `JobRunError`, field paths in worker-side schema errors,
 * no timer left after `stop()`.
 */
import type { StandardSchemaV1 } from "@standard-schema/spec";
import { afterEach, describe, expect, it } from "vitest";
import { connect } from "../../sdk/src/connect.js";
import { JobApp, JobRunError } from "../../sdk/src/index.js";
import { RunStore } from "../../sdk/src/store/run-store.js";
import { runContainerWorker } from "../../sdk/src/worker/container-worker.js";
import { PollingWorker } from "../../sdk/src/worker/polling-worker.js";
import { startTestSystem, type TestSystem } from "../support/test-system.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let system: TestSystem | undefined;
afterEach(async () => {
  await system?.stop();
  system = undefined;
});

describe("worker details", () => {
  it("reports and counts a handler that ignores its aborted signal, keeps its slot until it settles, and turns unhealthy when such handlers hold every slot", async () => {
    // Arrange
    const app = new JobApp();
    let release: () => void = () => undefined;
    const stubborn = app
      .addJob("Stubborn", async () => {
        await new Promise<void>((resolve) => {
          release = resolve;
        }); // ignores ctx.signal
      })
      .withTimeout("200ms");
    const ignored: Error[] = [];
    const unhealthy: Error[] = [];
    system = await startTestSystem({ app, workers: 0 });
    const worker = system.addWorker({
      concurrency: 1,
      onHandlerIgnoredAbort: (e) => ignored.push(e),
      onUnhealthy: (e) => unhealthy.push(e),
      onError: () => undefined,
    });
    // Act
    const run = await system.client.trigger(stubborn);
    const done = await system.client.wait(run.runId);
    await expect.poll(() => ignored.length, { timeout: 10_000 }).toBe(1);
    // Assert: the run ended at its timeout, the handler still holds the only slot
    expect(done.status).toBe("Failed");
    expect(done.error?.type).toBe("JobTimeoutError");
    expect(ignored[0]?.name).toBe("HandlerIgnoredAbortError");
    expect(ignored[0]?.message).toContain(run.runId);
    expect(worker.core.ignoredAborts).toBe(1);
    expect(worker.activeCount).toBe(1);
    expect(worker.healthy).toBe(false);
    expect(unhealthy[0]?.name).toBe("WorkerUnhealthyError");
    release();
    await expect.poll(() => worker.activeCount).toBe(0);
    expect(worker.core.abandonedCount).toBe(0);
  });

  it("runContainerWorker exits 1 once unhealthy, and 0 on its stop signal after handing its runs back", async () => {
    // Arrange
    const app = new JobApp();
    const stubborn = app.addJob("Stubborn", () => new Promise(() => undefined)).withTimeout("100ms");
    const patient = app.addJob("Patient", async (_: undefined, ctx) => {
      await new Promise((_, reject) => ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason)));
    });
    system = await startTestSystem({ app, workers: 0 });
    const exits: number[] = [];
    const options = {
      app,
      system,
      concurrency: 1,
      leaseMs: 3_000,
      waitTimeSeconds: 1,
      shutdownGraceMs: 100,
      onError: () => undefined,
      onHandlerIgnoredAbort: () => undefined,
      exit: (code: number) => exits.push(code),
    };
    // Act + Assert: unhealthy
    const sick = await runContainerWorker({ ...options, signals: ["SIGUSR2"] });
    await system.client.trigger(stubborn);
    await expect.poll(() => exits, { timeout: 15_000 }).toEqual([1]);
    expect(sick.healthy).toBe(false);
    // Act + Assert: a signal
    const healthy = await runContainerWorker({ ...options, signals: ["SIGUSR2"] });
    const run = await system.client.trigger(patient);
    await expect.poll(async () => (await system?.client.getRun(run.runId))?.status).toBe("Running");
    process.kill(process.pid, "SIGUSR2");
    await expect.poll(() => exits).toEqual([1, 0]);
    expect(healthy.activeCount).toBe(0);
    expect(await system.client.getRun(run.runId)).toMatchObject({ status: "Pending", attempt: 1 });
  });

  it("never overlaps heartbeat renewals, even when one takes longer than the interval", async () => {
    // Arrange: a heartbeat write takes 350 ms; beats are due every 100 ms (lease 300 ms,
    // so the handler is fenced: the point is only that no two writes are in flight)
    const app = new JobApp();
    const busy = app.addJob("Busy", async () => sleep(1_500));
    system = await startTestSystem({ app, workers: 0 });
    let inFlight = 0;
    let maxInFlight = 0;
    let beats = 0;
    class SlowHeartbeatStore extends RunStore {
      override async putHeartbeat(workerId: string, nowMs: number, ttlSeconds: number): Promise<void> {
        inFlight++;
        beats++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await sleep(350);
        inFlight--;
        return super.putHeartbeat(workerId, nowMs, ttlSeconds);
      }
    }
    const store = new SlowHeartbeatStore({ doc: system.store.doc, tableName: system.store.tableName });
    system.addWorker({ store, leaseMs: 300, onError: () => undefined });
    const worker = system.workers.at(-1) as PollingWorker;
    // Act
    const run = await system.client.trigger(busy);
    await system.client.wait(run.runId);
    await worker.stop();
    // Assert
    expect(beats).toBeGreaterThan(0);
    expect(maxInFlight).toBe(1);
  });

  it("prints no MaxListenersExceededWarning for 11 child run() calls on one signal", {
    timeout: 30_000,
  }, async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on("warning", onWarning);
    try {
      const app = new JobApp();
      const child = app.addJob("Child", async ({ i }: { i: number }) => {
        await sleep(300);
        return i;
      });
      const parent = app.addJob("Parent", async (_: undefined, ctx) =>
        Promise.all(
          Array.from({ length: 11 }, (_, i) => ctx.client.run(child, { i }, { signal: ctx.signal })),
        ),
      );
      system = await startTestSystem({ app, worker: { concurrency: 12 } });
      expect(await system.client.run(parent)).toEqual(Array.from({ length: 11 }, (_, i) => i));
      await sleep(100); // warnings are emitted on the next tick
      expect(warnings.filter((w) => w.name === "MaxListenersExceededWarning").map((w) => w.message)).toEqual(
        [],
      );
    } finally {
      process.off("warning", onWarning);
    }
  });

  it("names the cancel reason in the JobRunError of an owner call", async () => {
    const app = new JobApp();
    const slow = app.addJob("Slow", async (_: undefined, ctx) => {
      await new Promise((_, reject) => ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason)));
    });
    system = await startTestSystem({ app });
    const outcome = system.client.run(slow).catch((e: unknown) => e);
    let runId: string | undefined;
    while (!runId) {
      for await (const r of system.client.getRuns({ jobName: "Slow" })) runId = r.runId;
      await sleep(20);
    }
    await system.client.cancel(runId, { reason: "the order was withdrawn" });
    const error = await outcome;
    expect(error).toBeInstanceOf(JobRunError);
    expect((error as Error).message).toContain("the order was withdrawn");
  });

  it("keeps field paths in a schema error found by the worker (the client did not know the schema)", async () => {
    // Arrange: a Standard Schema that wants args.user.email to contain "@"
    const schema: StandardSchemaV1<{ user: { email: string } }> = {
      "~standard": {
        version: 1,
        vendor: "test",
        validate: (value) => {
          const email = (value as { user?: { email?: unknown } })?.user?.email;
          return typeof email === "string" && email.includes("@")
            ? { value: value as { user: { email: string } } }
            : { issues: [{ message: "Invalid email", path: ["user", { key: "email" }] }] };
        },
      },
    };
    const app = new JobApp();
    app.addJob("Typed", { args: schema }, () => "ok");
    system = await startTestSystem({ app });
    const blind = connect({ ...system.resources, app: new JobApp() });
    // Act
    const run = await blind.client.trigger("Typed", { user: { email: "nobody" } });
    const done = await blind.client.wait(run.runId);
    // Assert
    expect(done.status).toBe("Failed");
    expect(done.error?.message).toContain("args.user.email: Invalid email");
  });

  it("leaves no timer behind after stop()", async () => {
    const app = new JobApp();
    const add = app.addJob("Add", ({ a, b }: { a: number; b: number }) => a + b);
    // No timer loop or stream consumers: their own timers would come and go meanwhile.
    system = await startTestSystem({ app, workers: 0, timer: false, streams: false });
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;
    const before = timers();
    const worker = new PollingWorker({
      app,
      store: system.store,
      dispatcher: system.dispatcher,
      client: system.client,
      leaseMs: 3_000,
      waitTimeSeconds: 1,
    }).start();
    expect(await system.client.run(add, { a: 1, b: 2 })).toBe(3);
    await worker.stop();
    expect(timers()).toBeLessThanOrEqual(before);
  });
});
