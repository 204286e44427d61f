/**
 * A trigger whose SQS send fails after the DynamoDB write (aws-sdk-client-mock on both
 * clients): the run is stored and returned Pending, and the failure goes to
 * `onEnqueueError`; the table stream's consumer sends the same wake-up (invariant 3). The
 * end-to-end repair is in test/integration/lost-send.test.ts.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { DynamoDBDocumentClient, PutCommand, TransactWriteCommand } from "@aws-sdk/lib-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { JobClient } from "../../sdk/src/client/job-client.js";
import { JobApp } from "../../sdk/src/jobs/job-app.js";
import { Dispatcher } from "../../sdk/src/queue/dispatcher.js";
import { RunStore } from "../../sdk/src/store/run-store.js";

const credentials = { accessKeyId: "x", secretAccessKey: "x" };
const doc = DynamoDBDocumentClient.from(new DynamoDBClient({ region: "us-east-1", credentials }));
const sqs = new SQSClient({ region: "us-east-1", credentials });
const dynamo = mockClient(doc);
const queue = mockClient(sqs);
const now = Date.parse("2030-01-01T00:00:00.000Z");

function client(onEnqueueError: (error: unknown, runId: string) => void) {
  const app = new JobApp();
  app.addJob("Add", ({ a, b }: { a: number; b: number }) => a + b);
  const dispatcher = new Dispatcher(sqs, [
    { name: "normal", minPriority: Number.NEGATIVE_INFINITY, queueUrl: "q/normal.fifo" },
  ]);
  return new JobClient({
    store: new RunStore({ doc, tableName: "jobs" }),
    dispatcher,
    app,
    onEnqueueError,
    now: () => now,
  });
}

beforeEach(() => {
  dynamo.reset();
  queue.reset();
});

describe("trigger when the SQS send fails", () => {
  it("returns the stored Pending run and reports the send error with the run id", async () => {
    // Arrange
    dynamo.on(PutCommand).resolves({});
    const sendError = Object.assign(new Error("socket hang up"), { name: "TimeoutError" });
    queue.on(SendMessageCommand).rejects(sendError);
    const reported: [unknown, string][] = [];
    // Act
    const run = await client((error, runId) => reported.push([error, runId])).trigger("Add", { a: 1, b: 2 });
    // Assert
    expect(run).toMatchObject({ status: "Pending", attempt: 0, args: { a: 1, b: 2 } });
    expect(reported).toEqual([[sendError, run.runId]]);
    expect(dynamo.commandCalls(PutCommand)).toHaveLength(1);
    expect(dynamo.commandCalls(PutCommand)[0]?.args[0].input.Item).toMatchObject({
      runId: run.runId,
      status: "Pending",
      enqueueCount: 1,
    });
    expect(queue.commandCalls(SendMessageCommand)[0]?.args[0].input).toEqual({
      QueueUrl: "q/normal.fifo",
      MessageBody: JSON.stringify({ runId: run.runId, attempt: 0, jobName: "Add" }),
      MessageGroupId: `${run.runId}-0-1`,
      MessageDeduplicationId: `${run.runId}-0-1`,
    });
  });

  it("writes the run before it sends the message", async () => {
    // Arrange
    const order: string[] = [];
    dynamo.on(PutCommand).callsFake(() => {
      order.push("write");
      return {};
    });
    queue.on(SendMessageCommand).callsFake(() => {
      order.push("send");
      throw new Error("unreachable queue");
    });
    // Act
    await client(() => order.push("reported")).trigger("Add", { a: 1, b: 2 });
    // Assert
    expect(order).toEqual(["write", "send", "reported"]);
  });

  it("sends nothing when the DynamoDB write fails", async () => {
    const writeError = new Error("table is gone");
    dynamo.on(PutCommand).rejects(writeError);
    queue.on(SendMessageCommand).resolves({});
    await expect(client(() => undefined).trigger("Add", { a: 1, b: 2 })).rejects.toBe(writeError);
    expect(queue.commandCalls(SendMessageCommand)).toHaveLength(0);
  });

  it("writes a deduplicated run and its lock in one transaction before it sends", async () => {
    // Arrange
    const order: string[] = [];
    dynamo.on(TransactWriteCommand).callsFake(() => {
      order.push("write");
      return {};
    });
    queue.on(SendMessageCommand).callsFake(() => {
      order.push("send");
      throw new Error("unreachable queue");
    });
    // Act
    const run = await client(() => order.push("reported")).trigger(
      "Add",
      { a: 1, b: 2 },
      { deduplicationId: "d-1" },
    );
    // Assert
    expect(order).toEqual(["write", "send", "reported"]);
    const items = dynamo.commandCalls(TransactWriteCommand)[0]?.args[0].input.TransactItems ?? [];
    expect(items.map((i) => i.Put?.Item?.kind)).toEqual(["run", "dedup"]);
    expect(items[1]?.Put?.Item).toMatchObject({ pk: "DEDUP#Add#d-1", runId: run.runId });
    expect(dynamo.commandCalls(PutCommand)).toHaveLength(0);
  });
});
