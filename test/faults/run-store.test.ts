/**
 * RunStore under injected DynamoDB outcomes (aws-sdk-client-mock on the document
 * client): lost races surface as `undefined`, a held deduplication id as
 * RunConflictError, and infrastructure errors propagate.
 */
import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  ProvisionedThroughputExceededException,
  TransactionCanceledException,
} from "@aws-sdk/client-dynamodb";
import {
  DynamoDBDocumentClient,
  GetCommand,
  TransactWriteCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { RunConflictError } from "../../sdk/src/errors.js";
import type { RunItem } from "../../sdk/src/store/run-item.js";
import { RunStore } from "../../sdk/src/store/run-store.js";

const doc = DynamoDBDocumentClient.from(
  new DynamoDBClient({ region: "us-east-1", credentials: { accessKeyId: "x", secretAccessKey: "x" } }),
);
const dynamo = mockClient(doc);
const store = new RunStore({ doc, tableName: "jobs" });
const createdMs = Date.parse("2030-01-01T00:00:00.000Z");

function run(overrides: Partial<RunItem> = {}): RunItem {
  return {
    pk: "RUN#R1",
    sk: "#RUN",
    kind: "run",
    runId: "R1",
    jobName: "Add",
    status: "Pending",
    attempt: 0,
    priority: 0,
    queue: "default",
    rootRunId: "R1",
    progress: 0,
    createdAt: new Date(createdMs).toISOString(),
    createdMs,
    recentLogs: [],
    eventSeq: 0,
    enqueueCount: 1,
    ...overrides,
  };
}

const stored = (overrides: Partial<RunItem> = {}): RunItem => ({
  ...run(overrides),
  eventSeq: 1,
});

function canceled(...codes: string[]): TransactionCanceledException {
  return new TransactionCanceledException({
    message: "Transaction cancelled",
    $metadata: {},
    CancellationReasons: codes.map((Code) => ({ Code })),
  });
}

beforeEach(() => {
  dynamo.reset();
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe("RunStore.create", () => {
  it("throws RunConflictError naming the holder when the deduplication lock is taken", async () => {
    // Arrange: items are [run, event, lock]; the lock's condition failed
    dynamo.on(TransactWriteCommand).rejects(canceled("None", "None", "ConditionalCheckFailed"));
    dynamo.on(GetCommand).resolves({ Item: { pk: "DEDUP#Add#d-1", sk: "#DEDUP", runId: "HOLDER" } });
    // Act
    const error = await store
      .create(run({ deduplicationId: "d-1" }), { type: "status", status: "Pending" })
      .catch((e) => e);
    // Assert
    expect(error).toBeInstanceOf(RunConflictError);
    expect(error).toMatchObject({ jobName: "Add", deduplicationId: "d-1", existingRunId: "HOLDER" });
    expect(dynamo.commandCalls(GetCommand)[0]?.args[0].input).toEqual({
      TableName: "jobs",
      Key: { pk: "DEDUP#Add#d-1", sk: "#DEDUP" },
      ConsistentRead: true,
    });
  });

  it("tries again when the lock's holder finished between the write and the read", async () => {
    // Arrange
    dynamo
      .on(TransactWriteCommand)
      .rejectsOnce(canceled("None", "None", "ConditionalCheckFailed"))
      .resolves({});
    dynamo.on(GetCommand).resolves({});
    // Act
    const created = await store.create(run({ deduplicationId: "d-1" }), {
      type: "status",
      status: "Pending",
    });
    // Assert
    expect(created).toMatchObject({ runId: "R1", eventSeq: 1, statusPk: "STATUS#Pending" });
    expect(dynamo.commandCalls(TransactWriteCommand)).toHaveLength(2);
  });

  it("throws when a run with the same id already exists", async () => {
    dynamo.on(TransactWriteCommand).rejects(canceled("ConditionalCheckFailed", "None"));
    await expect(store.create(run(), { type: "status", status: "Pending" })).rejects.toThrow(
      "run R1 already exists",
    );
    expect(dynamo.commandCalls(GetCommand)).toHaveLength(0);
  });
});

describe("RunStore.transition", () => {
  it("reports a lost race when the run changed since it was read", async () => {
    // Arrange
    dynamo.on(TransactWriteCommand).rejects(canceled("ConditionalCheckFailed", "None"));
    // Act
    const result = await store.transition(stored(), run({ status: "Canceled" }), [
      { type: "status", status: "Canceled" },
    ]);
    // Assert: a lost race, and the mock returned no current item
    expect(result).toEqual({ current: undefined });
  });

  it("retries a transaction conflict and returns the stored run", async () => {
    // Arrange
    vi.spyOn(Math, "random").mockReturnValue(0);
    dynamo.on(TransactWriteCommand).rejectsOnce(canceled("TransactionConflict", "None")).resolves({});
    // Act
    const pending = store.transition(stored(), run({ status: "Canceled" }), [
      { type: "status", status: "Canceled" },
    ]);
    await vi.runAllTimersAsync();
    // Assert
    expect(await pending).toMatchObject({ stored: { status: "Canceled", eventSeq: 2 } });
    expect(dynamo.commandCalls(TransactWriteCommand)).toHaveLength(2);
  });

  it("frees the deduplication lock in the same transaction as a terminal status", async () => {
    dynamo.on(TransactWriteCommand).resolves({});
    await store.transition(
      stored({ deduplicationId: "d-1" }),
      run({ status: "Canceled", deduplicationId: "d-1" }),
      [{ type: "status", status: "Canceled" }],
    );
    const sent = dynamo.commandCalls(TransactWriteCommand)[0]?.args[0].input.TransactItems ?? [];
    expect(sent).toHaveLength(3);
    expect(sent[2]?.Delete).toMatchObject({ Key: { pk: "DEDUP#Add#d-1", sk: "#DEDUP" } });
  });

  it("conditions on status, attempt and eventSeq, and on the lease when asked to", async () => {
    dynamo.on(TransactWriteCommand).resolves({});
    const running = stored({ status: "Running", attempt: 1, leaseExpiresMs: createdMs + 9000 });
    await store.transition(
      running,
      { ...running, status: "Canceled" },
      [{ type: "status", status: "Canceled" }],
      true,
    );
    const update = dynamo.commandCalls(TransactWriteCommand)[0]?.args[0].input.TransactItems?.[0]?.Update;
    expect(update?.ConditionExpression).toBe(
      "#status = :c_status AND #attempt = :c_attempt AND #eventSeq = :c_seq AND #leaseExpiresMs = :c_lease",
    );
    expect(update?.ExpressionAttributeValues).toMatchObject({
      ":c_status": "Running",
      ":c_attempt": 1,
      ":c_seq": 1,
      ":c_lease": createdMs + 9000,
    });
    expect(update?.UpdateExpression).toMatch(/^SET .* REMOVE /);
  });
});

describe("RunStore conditional updates", () => {
  it("markEnqueued returns undefined when its condition fails", async () => {
    dynamo
      .on(UpdateCommand)
      .rejects(new ConditionalCheckFailedException({ message: "failed", $metadata: {} }));
    expect(await store.markEnqueued(stored(), createdMs + 1)).toBeUndefined();
  });

  it("renewLease rethrows a throttling error that outlasted the SDK's retries", async () => {
    const throttled = new ProvisionedThroughputExceededException({ message: "slow down", $metadata: {} });
    dynamo.on(UpdateCommand).rejects(throttled);
    await expect(store.renewLease(stored({ status: "Running" }), createdMs + 30_000)).rejects.toBe(throttled);
  });

  it("markEnqueued writes the new enqueue count, conditional on the one it read", async () => {
    // Arrange
    dynamo.on(UpdateCommand).resolves({});
    // Act
    const next = await store.markEnqueued(stored({ enqueueCount: 1 }), createdMs + 5);
    // Assert
    expect(next).toMatchObject({ enqueueCount: 2, enqueuedMs: createdMs + 5 });
    const input = dynamo.commandCalls(UpdateCommand)[0]?.args[0].input;
    expect(input?.ConditionExpression).toBe(
      "#status = :c_status AND #attempt = :c_attempt AND #enqueueCount = :c_enq",
    );
    expect(input?.ExpressionAttributeValues).toMatchObject({ ":c_enq": 1 });
    expect(Object.values(input?.ExpressionAttributeValues ?? {})).toEqual(
      expect.arrayContaining([2, createdMs + 5]),
    );
  });
});
