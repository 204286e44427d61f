import { SendMessageCommand } from "@aws-sdk/client-sqs";
import { afterEach, describe, expect, it } from "vitest";
import { JobApp } from "../../sdk/src/index.js";
import { startChildWorker } from "../support/child-worker.js";
import { useOwnDynamoDbLocal } from "../support/local-resources.js";
import { startTestSystem, type TestSystem } from "../support/test-system.js";

useOwnDynamoDbLocal();

let system: TestSystem | undefined;
afterEach(async () => {
  await system?.stop();
  system = undefined;
});

describe("exactly-once execution", () => {
  it("executes each of 200 runs once with two workers racing", async () => {
    // Arrange
    const executions = new Map<string, number>();
    const app = new JobApp();
    const count = app.addJob("Count", (_args: { i: number }, ctx) => {
      executions.set(ctx.runId, (executions.get(ctx.runId) ?? 0) + 1);
    });
    system = await startTestSystem({ app, workers: 2, worker: { concurrency: 8 } });
    // Act
    const runs = await Promise.all(
      Array.from({ length: 200 }, (_, i) => system?.client.trigger(count, { i })),
    );
    const done = [];
    for (const run of runs) done.push(await system.client.wait(run?.runId as string));
    // Assert
    expect(done.every((r) => r?.status === "Succeeded")).toBe(true);
    expect(executions.size).toBe(200);
    expect([...executions.values()].every((n) => n === 1)).toBe(true);
    const workers = new Set(done.map((r) => r?.workerId));
    expect(workers.size).toBe(2);
  });

  it("runs the handler once when SQS delivers a message twice", async () => {
    // Arrange
    let executions = 0;
    const app = new JobApp();
    const once = app.addJob("Once", async () => {
      executions++;
      await new Promise((r) => setTimeout(r, 300));
    });
    system = await startTestSystem({ app, workers: 2 });
    // Act: a second copy of the run's message, as an at-least-once delivery would give
    const run = await system.client.trigger(once);
    await system.dispatcher.sqs.send(
      new SendMessageCommand({
        QueueUrl: system.dispatcher.laneFor(run).queueUrl,
        MessageBody: JSON.stringify({ runId: run.runId, attempt: 0 }),
        MessageGroupId: `${run.runId}-dup`,
        MessageDeduplicationId: `${run.runId}-duplicate`,
      }),
    );
    const done = await system.client.wait(run.runId);
    await new Promise((r) => setTimeout(r, 500));
    // Assert
    expect(done.status).toBe("Succeeded");
    expect(executions).toBe(1);
  });

  it("recovers a run whose worker process was killed with SIGKILL mid-run", async () => {
    // Arrange: the child's "Fragile" hangs; this process's "Fragile" succeeds
    let executions = 0;
    const app = new JobApp();
    const fragile = app
      .addJob("Fragile", (_args: undefined, ctx) => {
        executions++;
        return { attempt: ctx.attempt };
      })
      .withRetry({ maxRetries: 2, initialDelay: "100ms" });
    system = await startTestSystem({ app, workers: 0 });
    const child = startChildWorker(system.resources);
    try {
      const run = await system.client.trigger(fragile);
      await child.printed("started ");
      expect((await system.client.getRun(run.runId)).status).toBe("Running");
      // Act
      await child.kill();
      system.addWorker();
      const done = await system.client.wait(run.runId);
      // Assert
      expect(done.status).toBe("Succeeded");
      expect(done.result).toEqual({ attempt: 2 });
      expect(executions).toBe(1);
      const events = [];
      for await (const e of system.store.events(run.runId)) events.push(e);
      expect(events).toContainEqual(
        expect.objectContaining({ type: "status", status: "Pending", reason: "lease expired" }),
      );
    } finally {
      await child.kill();
    }
  });
});
