/**
 * Invariant 3 (nothing is lost) for wake-ups, end to end on the local emulators, with
 * no maintenance pass running: the table stream's consumer sends every wake-up a
 * writer's own send did not (a failed send, a writer killed between its write and its
 * send, a stream batch that failed once), and a wake-up that dead-letters fails its run
 * with a typed error instead of leaving it Pending.
 */
import {
  DeleteMessageCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import { afterEach, describe, expect, it } from "vitest";
import { JobApp } from "../../sdk/src/jobs/job-app.js";
import { runMaintenance } from "../../sdk/src/maintenance/maintenance.js";
import { createTestResources, type TestResources } from "../support/local-resources.js";
import { spawnChild } from "../support/spawn-child.js";
import { startTestSystem, type TestSystem } from "../support/test-system.js";

let system: TestSystem | undefined;
afterEach(async () => {
  await system?.stop();
  system = undefined;
});

/** Makes the sends `fails` picks fail with `error`; everything else goes through. Returns the count of failed sends. */
function failSends(
  sqs: SQSClient,
  fails: (command: unknown, failedSoFar: number) => boolean,
): { failed: number } {
  const state = { failed: 0 };
  const realSend = sqs.send.bind(sqs) as (command: unknown, ...rest: unknown[]) => Promise<unknown>;
  sqs.send = ((command: unknown, ...rest: unknown[]) => {
    if (fails(command, state.failed)) {
      state.failed++;
      return Promise.reject(new Error("injected: SQS unreachable"));
    }
    return realSend(command, ...rest);
  }) as SQSClient["send"];
  return state;
}

function addApp() {
  const app = new JobApp();
  const add = app.addJob("Add", ({ a, b }: { a: number; b: number }) => a + b);
  return { app, add };
}

describe("lost send", () => {
  it("a wake-up whose send fails after the write is sent by the stream consumer, with no maintenance pass", async () => {
    // Arrange: every direct send fails (the fast path); the stream consumer batches its sends
    const resources = await createTestResources();
    const fault = failSends(resources.sqs, (command) => command instanceof SendMessageCommand);
    const { app, add } = addApp();
    system = await startTestSystem({ app, resources, timer: false });
    // Act
    const result = await system.client.run(add, { a: 40, b: 2 });
    // Assert
    expect(result).toBe(42);
    expect(fault.failed).toBeGreaterThanOrEqual(1);
  });

  it("a run whose client process was killed between its write and its send starts, with no maintenance pass", async () => {
    // Arrange
    const resources = await createTestResources();
    const { app } = addApp();
    system = await startTestSystem({ app, resources, timer: false });
    // Act: the child writes the run and kills itself before sending
    const exit = await runChild(resources);
    // Assert
    expect(exit).toBe("SIGKILL");
    const [run] = await collectRuns(system, "Add");
    expect(run).toBeDefined();
    const done = await system.client.wait(run as string);
    expect(done).toMatchObject({ status: "Succeeded", result: 42, attempt: 1 });
  });

  it("a stream batch that fails is handed over again, never skipped", async () => {
    // Arrange: the fast path fails, and so does the stream consumer's first batch send
    const resources = await createTestResources();
    const fault = failSends(
      resources.sqs,
      (command, failed) =>
        command instanceof SendMessageCommand || (command instanceof SendMessageBatchCommand && failed < 2),
    );
    const { app, add } = addApp();
    system = await startTestSystem({ app, resources, timer: false });
    // Act
    const result = await system.client.run(add, { a: 1, b: 2 });
    // Assert
    expect(result).toBe(3);
    expect(fault.failed).toBeGreaterThanOrEqual(2);
  });

  it("a wake-up that reaches its lane's dead-letter queue fails its run with DeadLetterError", async () => {
    // Arrange: no worker; the run's message is moved to the dead-letter queue
    const resources = await createTestResources();
    const { app, add } = addApp();
    system = await startTestSystem({ app, resources, workers: 0, timer: false, streams: false });
    const run = await system.client.trigger(add, { a: 1, b: 1 });
    const laneUrl = resources.laneUrls.normal as string;
    const out = await resources.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: laneUrl, WaitTimeSeconds: 1 }),
    );
    const message = out.Messages?.[0];
    expect(JSON.parse(message?.Body ?? "{}")).toEqual({ runId: run.runId, attempt: 0, jobName: run.jobName });
    await resources.sqs.send(
      new SendMessageCommand({
        QueueUrl: resources.deadLetterUrls.normal,
        MessageBody: message?.Body,
        MessageGroupId: "dead",
        MessageDeduplicationId: "dead",
      }),
    );
    await resources.sqs.send(
      new DeleteMessageCommand({ QueueUrl: laneUrl, ReceiptHandle: message?.ReceiptHandle }),
    );
    // Act
    const report = await runMaintenance({ store: system.store, dispatcher: system.dispatcher, app });
    // Assert
    expect(report.deadLetters).toMatchObject({ failed: 1, errors: 0 });
    expect(await system.client.getRun(run.runId)).toMatchObject({
      status: "Failed",
      error: { type: "DeadLetterError" },
    });
    const again = await runMaintenance({ store: system.store, dispatcher: system.dispatcher, app });
    expect(again.deadLetters).toMatchObject({ failed: 0, recovered: 0, resent: 0 });
  });
});

/** Runs the killed client; resolves with the signal that ended it. */
function runChild(resources: TestResources): Promise<NodeJS.Signals | null> {
  const child = spawnChild("killed-client.ts", resources);
  return new Promise((resolve) => child.on("exit", (_code, signal) => resolve(signal)));
}

async function collectRuns(s: TestSystem, jobName: string): Promise<string[]> {
  const ids: string[] = [];
  for await (const run of s.client.getRuns({ jobName })) ids.push(run.runId);
  return ids;
}
