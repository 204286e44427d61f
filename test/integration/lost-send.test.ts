/**
 * Invariant 3 (nothing is lost), end to end on the local emulators: the SQS send that
 * follows a trigger's DynamoDB write fails once; the run is stored anyway, the sweep
 * sends its message, and a worker runs it.
 */
import { type Message, ReceiveMessageCommand, SendMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { afterEach, describe, expect, it } from "vitest";
import { connect } from "../../sdk/src/connect.js";
import { JobApp } from "../../sdk/src/jobs/job-app.js";
import { sweep } from "../../sdk/src/maintenance/sweep.js";
import { PollingWorker } from "../../sdk/src/worker/polling-worker.js";
import { createTestResources } from "../support/local-resources.js";

let worker: PollingWorker | undefined;
afterEach(async () => {
  await worker?.stop();
  worker = undefined;
});

/** Makes the first SendMessageCommand on `sqs` fail with `error`; everything else goes through. */
function failFirstSend(sqs: SQSClient, error: Error): { readonly failed: number } {
  const state = { failed: 0 };
  const realSend = sqs.send.bind(sqs) as (command: unknown, ...rest: unknown[]) => Promise<unknown>;
  const flakySend = (command: unknown, ...rest: unknown[]) => {
    if (command instanceof SendMessageCommand && state.failed === 0) {
      state.failed++;
      return Promise.reject(error);
    }
    return realSend(command, ...rest);
  };
  sqs.send = flakySend as SQSClient["send"];
  return state;
}

async function peek(sqs: SQSClient, queueUrl: string): Promise<Message[]> {
  // Visibility 0: look without hiding, so a worker can still receive the message.
  const out = await sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: queueUrl,
      MaxNumberOfMessages: 10,
      WaitTimeSeconds: 0,
      VisibilityTimeout: 0,
    }),
  );
  return out.Messages ?? [];
}

describe("lost send", () => {
  it("an SQS send that fails after the DynamoDB write does not lose the run", async () => {
    // Arrange
    const resources = await createTestResources();
    const sendError = new Error("injected: SQS unreachable");
    const fault = failFirstSend(resources.sqs, sendError);
    const app = new JobApp();
    const add = app.addJob("Add", ({ a, b }: { a: number; b: number }) => a + b);
    const enqueueErrors: [unknown, string][] = [];
    const system = connect({
      ...resources,
      app,
      client: {
        maxPollIntervalMs: 100,
        onEnqueueError: (error, runId) => enqueueErrors.push([error, runId]),
      },
    });
    const laneUrl = system.dispatcher.laneFor({ priority: 0 }).queueUrl;

    // Act 1: trigger while the send fails
    const run = await system.client.trigger(add, { a: 20, b: 22 });

    // Assert 1: the caller got a Pending run, the error was reported, the run is stored, no message exists
    expect(run.status).toBe("Pending");
    expect(fault.failed).toBe(1);
    expect(enqueueErrors).toEqual([[sendError, run.runId]]);
    expect(await system.store.get(run.runId)).toMatchObject({
      status: "Pending",
      attempt: 0,
      enqueueCount: 1,
    });
    expect(await peek(resources.sqs, laneUrl)).toEqual([]);

    // Act 2: the sweep finds the run
    const report = await sweep({
      store: system.store,
      dispatcher: system.dispatcher,
      app,
      lostMessageGraceMs: 0,
    });

    // Assert 2: one message for the run is in its lane, and the run records the second send
    expect(report).toEqual({ expired: 0, enqueued: 1, recovered: 0 });
    const messages = await peek(resources.sqs, laneUrl);
    expect(messages.map((m) => JSON.parse(m.Body ?? ""))).toEqual([{ runId: run.runId, attempt: 0 }]);
    expect(await system.store.get(run.runId)).toMatchObject({ status: "Pending", enqueueCount: 2 });

    // Act 3: a worker takes it from the lane
    worker = new PollingWorker({
      app,
      store: system.store,
      dispatcher: system.dispatcher,
      client: system.client,
      leaseMs: 3_000,
      heartbeatMs: 500,
      maxIdleMs: 50,
      shutdownGraceMs: 1_000,
    }).start();
    const done = await system.client.wait(run.runId);

    // Assert 3
    expect(done).toMatchObject({ status: "Succeeded", attempt: 1, result: 42 });
  });
});
