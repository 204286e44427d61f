/**
 * Workers under the everyday faults of AWS and of the machines they run on: throttled
 * lease calls and flushes, a process frozen past its lease, a stopping worker, timers
 * longer than `setTimeout` can hold.
 */
import { afterEach, describe, expect, it } from "vitest";
import { JobApp } from "../../sdk/src/index.js";
import { addMiddleware } from "../../sdk/src/metrics/sdk-middleware.js";
import { startChildWorker } from "../support/child-worker.js";
import { createTestResources } from "../support/local-resources.js";
import { startTestSystem, type TestSystem } from "../support/test-system.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let system: TestSystem | undefined;
afterEach(async () => {
  await system?.stop();
  system = undefined;
});

function throttling(): Error {
  return Object.assign(new Error("Rate exceeded"), {
    name: "ThrottlingException",
    $fault: "client",
    $retryable: { throttling: true },
  });
}

describe("worker faults", () => {
  it("L1: throttled heartbeats, visibility extensions and flushes for 5 s neither crash the worker nor cost the attempt", async () => {
    // Arrange: every heartbeat write, event write and visibility extension throws
    // ThrottlingException while armed (above the SDK's retry loop, so nothing retries it).
    const resources = await createTestResources();
    let armedUntil = 0;
    const throttled = new Map<string, number>();
    const throttle = (operation: string, input: Record<string, unknown>) => {
      if (Date.now() > armedUntil) return;
      const item = input.Item as { pk?: string; sk?: string } | undefined;
      const lease = operation === "PutItem" && item?.pk?.startsWith("WORKER#");
      const flush = operation === "PutItem" && item?.sk?.startsWith("EVT#");
      if (!lease && !flush && operation !== "ChangeMessageVisibilityBatch") return;
      throttled.set(operation, (throttled.get(operation) ?? 0) + 1);
      throw throttling();
    };
    for (const client of [resources.dynamodb, resources.sqs])
      addMiddleware(client, "initialize", "injectThrottling", (next, operation) => async (args) => {
        throttle(operation, args.input);
        return next(args);
      });
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on("unhandledRejection", onUnhandled);
    let executions = 0;
    const app = new JobApp();
    const chatty = app.addJob("Chatty", async (_: undefined, ctx) => {
      executions++;
      armedUntil = Date.now() + 5_000;
      for (let i = 0; i < 70; i++) {
        ctx.logger.info(`line ${i}`);
        await sleep(100);
      }
      return ctx.attempt;
    });
    try {
      system = await startTestSystem({
        app,
        resources,
        worker: { leaseMs: 9_000, heartbeatMs: 500, flushMs: 200 },
      });
      // Act
      const run = await system.client.trigger(chatty);
      const done = await system.client.wait(run.runId);
      // Assert
      expect(done.status).toBe("Succeeded");
      expect(done.result).toBe(1);
      expect(executions).toBe(1);
      expect(throttled.get("PutItem")).toBeGreaterThan(5); // heartbeats and flushes did fail
      expect(throttled.get("ChangeMessageVisibilityBatch") ?? 0).toBeGreaterThan(0);
      const lines: string[] = [];
      for await (const e of system.store.events(run.runId))
        if (e.type === "log") lines.push(...e.lines.map((l) => l.message));
      expect(lines).toEqual(Array.from({ length: 70 }, (_, i) => `line ${i}`)); // none lost, none twice
      expect(unhandled).toEqual([]);
    } finally {
      process.off("unhandledRejection", onUnhandled);
    }
  });

  it("L2: a worker frozen past its lease is fenced on resume: its guarded side effects never overlap the retry", async () => {
    // Arrange: the child's "Guarded" prints an effect every 50 ms; this process's runs
    // the retry for 2 s, recording when each of its effects happened.
    const ours: number[] = [];
    const app = new JobApp();
    const guarded = app
      .addJob("Guarded", async (_: undefined, ctx) => {
        for (let i = 0; i < 40; i++) {
          ctx.signal.throwIfAborted();
          ours.push(Date.now());
          await sleep(50);
        }
        return ctx.attempt;
      })
      .withRetry({ maxRetries: 2, initialDelay: "100ms" });
    system = await startTestSystem({ app, workers: 0 });
    const child = startChildWorker(system.resources);
    try {
      await child.printed("ready");
      const run = await system.client.trigger(guarded);
      await child.printed("effect 1 ");
      // Act: freeze the child past its lease (3 s); this process's worker recovers the run.
      child.process.kill("SIGSTOP");
      const frozenAt = Date.now();
      system.addWorker();
      const done = await system.client.wait(run.runId);
      const resumedAt = Date.now();
      child.process.kill("SIGCONT");
      await sleep(1_500);
      const afterResume = await system.client.getRun(run.runId);
      // Assert
      expect(done.status).toBe("Succeeded");
      expect(done.result).toBe(2);
      const theirs = [...child.output().matchAll(/effect 1 (\d+)/g)].map((m) => Number(m[1]));
      expect(theirs.length).toBeGreaterThan(0);
      expect(Math.max(...theirs)).toBeLessThan(frozenAt + 100); // nothing after the freeze...
      expect(theirs.every((t) => t < resumedAt)).toBe(true); // ...not even once it resumed
      expect(Math.max(...theirs)).toBeLessThan(Math.min(...ours)); // no overlap with the retry
      expect(afterResume).toEqual(done); // its late writes changed nothing
    } finally {
      await child.kill();
    }
  });

  it("L5: a 30-day job timeout does not fire early, and a run due in 40 days stays Pending", async () => {
    // Arrange: 30 days is past setTimeout's 2^31 - 1 ms, which Node fires at once
    const app = new JobApp();
    const patient = app.addJob("Patient", async () => {
      await sleep(1_500);
      return "on time";
    });
    patient.withTimeout("30d");
    system = await startTestSystem({ app });
    // Act
    const later = await system.client.trigger(patient, undefined, {
      notBefore: new Date(Date.now() + 40 * 24 * 3_600_000),
    });
    const done = await system.client.run(patient);
    await sleep(1_000); // workers, the timer loop and maintenance passes have all looked at `later`
    // Assert
    expect(done).toBe("on time");
    expect(await system.client.getRun(later.runId)).toMatchObject({ status: "Pending", attempt: 0 });
  });
});
