/**
 * K4: a healthy backlog costs maintenance nothing. With 10,000 due Pending runs whose
 * messages wait in the lanes with no consumer, and 10,000 more due later, a maintenance
 * pass sends no message, and makes exactly the requests it makes on an empty system; a
 * run held by a dead worker whose lease message dead-lettered is recovered by that pass.
 */
import { SendMessageCommand } from "@aws-sdk/client-sqs";
import { BatchWriteCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import { describe, expect, it } from "vitest";
import { connect, type JobSystem } from "../../sdk/src/connect.js";
import { JobApp } from "../../sdk/src/jobs/job-app.js";
import { runMaintenance } from "../../sdk/src/maintenance/maintenance.js";
import { RequestCounter } from "../../sdk/src/metrics/request-counter.js";
import { newRunItem } from "../../sdk/src/store/run-factory.js";
import type { RunItem } from "../../sdk/src/store/run-item.js";
import { createTestResources, useOwnDynamoDbLocal } from "../support/local-resources.js";

useOwnDynamoDbLocal();

const backlog = 10_000;

function pendingRun(i: number, nowMs: number, notBeforeMs?: number): RunItem {
  return newRunItem(
    {
      runId: `01BACKLOG${String(i).padStart(8, "0")}`,
      jobName: "Add",
      argsJson: `{"a":${i},"b":1}`,
      priority: 0,
      queue: "default",
      rootRunId: `01BACKLOG${String(i).padStart(8, "0")}`,
      createdMs: nowMs - 3_600_000,
      enqueueCount: 1,
      ...(notBeforeMs !== undefined ? { notBeforeMs } : {}),
    },
    false,
  );
}

async function writeAll(system: JobSystem, items: RunItem[]): Promise<void> {
  const chunks: RunItem[][] = [];
  for (let i = 0; i < items.length; i += 25) chunks.push(items.slice(i, i + 25));
  for (let i = 0; i < chunks.length; i += 16) {
    await Promise.all(
      chunks.slice(i, i + 16).map(async (chunk) => {
        let requests = chunk.map((Item) => ({ PutRequest: { Item } }));
        while (requests.length > 0) {
          const out = await system.store.doc.send(
            new BatchWriteCommand({ RequestItems: { [system.store.tableName]: requests } }),
          );
          requests = (out.UnprocessedItems?.[system.store.tableName] ?? []) as typeof requests;
        }
      }),
    );
  }
}

/** Counts the requests of a system's clients. */
function countRequests(system: JobSystem): RequestCounter {
  const counter = new RequestCounter();
  counter.attach(system.store.doc, "DynamoDB");
  counter.attach(system.dispatcher.sqs, "SQS");
  return counter;
}

/** The requests one maintenance pass makes, by service and operation. */
async function passRequests(system: JobSystem, counter: RequestCounter, app: JobApp) {
  counter.reset();
  const report = await runMaintenance({
    store: system.store,
    dispatcher: system.dispatcher,
    app,
    leaseMs: 3_000,
  });
  return { report, requests: counter.table() };
}

describe("maintenance on a healthy backlog", () => {
  it("sends nothing and makes the same requests at 20,000 waiting runs as at none", {
    timeout: 240_000,
  }, async () => {
    // Arrange: an empty system, measured first
    const app = new JobApp();
    app.addJob("Add", ({ a, b }: { a: number; b: number }) => a + b);
    const empty = connect({ ...(await createTestResources()), app });
    const baseline = await passRequests(empty, countRequests(empty), app);
    const resources = await createTestResources();
    const system = connect({ ...resources, app });
    const now = Date.now();
    const due = Array.from({ length: backlog }, (_, i) => pendingRun(i, now));
    const later = Array.from({ length: backlog }, (_, i) => pendingRun(backlog + i, now, now + 3_600_000));
    await writeAll(system, [...due, ...later]);
    await system.dispatcher.sendBatch([...due, ...later]);
    // A run held by a worker that died: no heartbeat, and its lease message dead-lettered.
    const held: RunItem = {
      ...pendingRun(2 * backlog, now),
      status: "Running",
      attempt: 1,
      startSeq: 2,
      seq: 2,
      startedMs: now - 60_000,
      workerId: "worker-dead",
    };
    await system.store.doc.send(new PutCommand({ TableName: system.store.tableName, Item: held }));
    await resources.sqs.send(
      new SendMessageCommand({
        QueueUrl: resources.deadLetterUrls.normal,
        MessageBody: JSON.stringify({ runId: held.runId, attempt: 0 }),
        MessageGroupId: "dead",
        MessageDeduplicationId: "dead",
      }),
    );

    // Act
    const counter = countRequests(system);
    const first = await passRequests(system, counter, app);
    const second = await passRequests(system, counter, app);

    // Assert: nothing sent for the backlog; the dead worker's run recovered (retry policy: none, so Failed)
    expect(first.report).toMatchObject({
      released: 0,
      errors: 0,
      deadLetters: { recovered: 1, failed: 0, resent: 0 },
    });
    expect(first.requests["SQS.SendMessage"] ?? 0).toBe(0);
    expect(first.requests["SQS.SendMessageBatch"] ?? 0).toBe(0);
    expect(await system.client.getRun(held.runId)).toMatchObject({
      status: "Failed",
      error: { type: "LeaseExpiredError" },
    });
    // The second pass has nothing to do, and its requests are exactly the empty system's.
    expect(second.report).toMatchObject({ released: 0, errors: 0, deadLetters: { recovered: 0 } });
    expect(second.requests).toEqual(baseline.requests);
  });
});
