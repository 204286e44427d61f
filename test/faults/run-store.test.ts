/**
 * RunStore under injected DynamoDB outcomes (aws-sdk-client-mock on the document
 * client): the requests each write makes, lost races surfacing as `{ current }` read
 * from the failed condition (`ALL_OLD`), transient transaction cancellations retried, an
 * event id taken by another writer retried with the next one, a held deduplication id
 * as RunConflictError, and infrastructure errors propagating.
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
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import { marshall } from "@aws-sdk/util-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { cancel, failAttempt, succeed, type Transition } from "../../sdk/src/domain/transitions.js";
import { RunConflictError } from "../../sdk/src/errors.js";
import type { RunItem } from "../../sdk/src/store/run-item.js";
import { EventsWriteError, RunStore } from "../../sdk/src/store/run-store.js";
import { createdMs, runItem, runningItem } from "../unit/run-item-factory.js";

const doc = DynamoDBDocumentClient.from(
  new DynamoDBClient({ region: "us-east-1", credentials: { accessKeyId: "x", secretAccessKey: "x" } }),
);
const dynamo = mockClient(doc);
const store = new RunStore({ doc, tableName: "jobs" });
const now = createdMs + 10_000;
const boom = { type: "Error", message: "boom" };

const pending = (overrides: Partial<RunItem> = {}) => runItem({ runId: "R1", ...overrides });
const running = (overrides: Partial<RunItem> = {}) => runningItem(1, { runId: "R1", ...overrides });

function must(transition: Transition | undefined): Transition {
  if (!transition) throw new Error("the transition should apply");
  return transition;
}

type Reason = string | { Code: string; Item: RunItem };

function canceled(...reasons: Reason[]): TransactionCanceledException {
  return new TransactionCanceledException({
    message: "Transaction cancelled",
    $metadata: {},
    CancellationReasons: reasons.map((r) =>
      typeof r === "string"
        ? { Code: r }
        : { Code: r.Code, Item: marshall(r.Item, { removeUndefinedValues: true }) },
    ),
  });
}

/** The highest event id stored as an item, as `lastEventId` reads it. */
const lastEventIdIs = (...ids: number[]) => {
  let stub = dynamo.on(QueryCommand);
  for (const id of ids) stub = stub.resolvesOnce({ Items: [{ eventId: id }] });
  stub.resolves({ Items: [{ eventId: ids.at(-1) ?? 0 }] });
};

const sentTransactions = () =>
  dynamo.commandCalls(TransactWriteCommand).map((c) => c.args[0].input.TransactItems ?? []);

beforeEach(() => {
  dynamo.reset();
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe("RunStore.create", () => {
  it("writes a run without a deduplication id with one conditional PutItem, its Pending event inline", async () => {
    // Arrange
    dynamo.on(PutCommand).resolves({});
    // Act
    const created = await store.create({ ...pending(), seq: 9, statusInline: false });
    // Assert
    expect(created).toMatchObject({ runId: "R1", seq: 1, statusInline: true });
    expect(dynamo.commandCalls(PutCommand)[0]?.args[0].input).toEqual({
      TableName: "jobs",
      Item: created,
      ConditionExpression: "attribute_not_exists(pk)",
    });
    expect(dynamo.commandCalls(TransactWriteCommand)).toHaveLength(0);
  });

  it("throws RunConflictError naming the holder when the deduplication lock is taken", async () => {
    // Arrange: items are [run, lock]; the lock's condition failed
    dynamo.on(TransactWriteCommand).rejects(canceled("None", "ConditionalCheckFailed"));
    dynamo.on(GetCommand).resolves({ Item: { pk: "DEDUP#Add#d-1", sk: "#DEDUP", runId: "HOLDER" } });
    // Act
    const error = await store.create(pending({ deduplicationId: "d-1" })).catch((e) => e);
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
    dynamo.on(TransactWriteCommand).rejectsOnce(canceled("None", "ConditionalCheckFailed")).resolves({});
    dynamo.on(GetCommand).resolves({});
    // Act
    const created = await store.create(pending({ deduplicationId: "d-1" }));
    // Assert
    expect(created).toMatchObject({ runId: "R1", seq: 1, statusInline: true });
    expect(dynamo.commandCalls(TransactWriteCommand)).toHaveLength(2);
    const [run, lock] = sentTransactions()[1] ?? [];
    expect(run?.Put?.ConditionExpression).toBe("attribute_not_exists(pk)");
    expect(lock?.Put).toMatchObject({
      Item: { pk: "DEDUP#Add#d-1", sk: "#DEDUP", kind: "dedup", runId: "R1" },
      ConditionExpression: "attribute_not_exists(pk)",
    });
  });

  it("throws when a run with the same id already exists", async () => {
    dynamo.on(TransactWriteCommand).rejects(canceled("ConditionalCheckFailed", "None"));
    await expect(store.create(pending({ deduplicationId: "d-1" }))).rejects.toThrow("run R1 already exists");
    expect(dynamo.commandCalls(GetCommand)).toHaveLength(0);
  });

  it("propagates an infrastructure error of the PutItem", async () => {
    const throttled = new ProvisionedThroughputExceededException({ message: "slow down", $metadata: {} });
    dynamo.on(PutCommand).rejects(throttled);
    await expect(store.create(pending())).rejects.toBe(throttled);
  });
});

describe("RunStore.transition, single UpdateItem", () => {
  it("conditions another writer on status, attempt and seq, with the id after the log's last", async () => {
    // Arrange: a Pending run whose log has event items up to 4 (a retried run)
    lastEventIdIs(4);
    dynamo.on(UpdateCommand).resolves({});
    const run = pending({ attempt: 1, seq: 4, statusInline: undefined });
    // Act
    const outcome = await store.transition(run, must(cancel(run, "stop", now)));
    // Assert
    expect(outcome).toMatchObject({ stored: { status: "Canceled", seq: 5, statusInline: true } });
    const input = dynamo.commandCalls(UpdateCommand)[0]?.args[0].input;
    expect(input?.ConditionExpression).toBe(
      "#status = :c_status AND #attempt = :c_attempt AND #seq = :c_seq",
    );
    expect(input?.ExpressionAttributeValues).toMatchObject({
      ":c_status": "Pending",
      ":c_attempt": 1,
      ":c_seq": 4,
    });
    expect(input?.ReturnValuesOnConditionCheckFailure).toBe("ALL_OLD");
    expect(input?.Key).toEqual({ pk: "RUN#R1", sk: "#RUN" });
    expect(dynamo.commandCalls(QueryCommand)[0]?.args[0].input).toMatchObject({
      ScanIndexForward: false,
      Limit: 1,
      ConsistentRead: true,
    });
  });

  it("conditions the attempt's holder on status and attempt only, numbering from its own last id", async () => {
    // Arrange
    dynamo.on(UpdateCommand).resolves({});
    const run = running();
    // Act
    const outcome = await store.transition(run, must(succeed(run, 1, { resultJson: "3" }, now)), {
      lastEventId: 7,
    });
    // Assert
    expect(outcome).toMatchObject({
      stored: { status: "Succeeded", seq: 8, startSeq: 2, statusInline: true },
    });
    const input = dynamo.commandCalls(UpdateCommand)[0]?.args[0].input;
    expect(input?.ConditionExpression).toBe("#status = :c_status AND #attempt = :c_attempt");
    expect(input?.UpdateExpression).toMatch(/^SET /);
    expect(Object.values(input?.ExpressionAttributeValues ?? {})).toEqual(
      expect.arrayContaining(["Succeeded", "3", 8]),
    );
    expect(dynamo.commandCalls(QueryCommand)).toHaveLength(0);
    expect(dynamo.commandCalls(TransactWriteCommand)).toHaveLength(0);
  });

  it("reports a lost race with the run as it now is, read from the failed condition (ALL_OLD)", async () => {
    // Arrange
    const now2 = running({ seq: 3 });
    lastEventIdIs(0);
    dynamo
      .on(UpdateCommand)
      .rejects(
        new ConditionalCheckFailedException({ message: "failed", $metadata: {}, Item: marshall(now2) }),
      );
    const read = pending();
    // Act
    const outcome = await store.transition(read, must(cancel(read, "stop", now)));
    // Assert
    expect(outcome).toEqual({ current: now2 });
    expect(dynamo.commandCalls(GetCommand)).toHaveLength(0);
  });

  it("reads the run when the failed condition returned no item", async () => {
    lastEventIdIs(0);
    dynamo
      .on(UpdateCommand)
      .rejects(new ConditionalCheckFailedException({ message: "failed", $metadata: {} }));
    dynamo.on(GetCommand).resolves({});
    const read = pending();
    expect(await store.transition(read, must(cancel(read, "stop", now)))).toEqual({ current: undefined });
    expect(dynamo.commandCalls(GetCommand)[0]?.args[0].input).toMatchObject({
      Key: { pk: "RUN#R1", sk: "#RUN" },
    });
  });

  it("rethrows an error that is not a failed condition", async () => {
    const throttled = new ProvisionedThroughputExceededException({ message: "slow down", $metadata: {} });
    dynamo.on(UpdateCommand).rejects(throttled);
    const run = running();
    await expect(store.transition(run, must(succeed(run, 1, {}, now)), { lastEventId: 2 })).rejects.toBe(
      throttled,
    );
  });
});

describe("RunStore.transition, transactions", () => {
  it("materializes the Running event and the new status event when another writer cancels a Running run", async () => {
    // Arrange: the holder wrote data events up to 5
    lastEventIdIs(5);
    dynamo.on(TransactWriteCommand).resolves({});
    const run = running({ deduplicationId: "d-1" });
    // Act
    const outcome = await store.transition(run, must(cancel(run, "stop", now)));
    // Assert
    expect(outcome).toMatchObject({ stored: { status: "Canceled", seq: 6, startSeq: 2 } });
    expect(outcome).not.toHaveProperty("stored.statusInline");
    const [update, runningEvent, canceledEvent, unlock, ...rest] = sentTransactions()[0] ?? [];
    expect(rest).toEqual([]);
    expect(update?.Update).toMatchObject({
      Key: { pk: "RUN#R1", sk: "#RUN" },
      ConditionExpression: "#status = :c_status AND #attempt = :c_attempt AND #seq = :c_seq",
      ReturnValuesOnConditionCheckFailure: "ALL_OLD",
    });
    expect(update?.Update?.UpdateExpression).toMatch(/ REMOVE /);
    expect(runningEvent?.Put).toMatchObject({
      Item: {
        sk: "EVT#000000000002",
        eventId: 2,
        attempt: 1,
        body: { type: "status", status: "Running" },
        atMs: run.startedMs,
      },
    });
    expect(runningEvent?.Put).not.toHaveProperty("ConditionExpression");
    expect(canceledEvent?.Put).toMatchObject({
      Item: {
        sk: "EVT#000000000006",
        eventId: 6,
        attempt: 1,
        body: { type: "status", status: "Canceled", reason: "stop" },
      },
      ConditionExpression: "attribute_not_exists(sk)",
    });
    expect(unlock?.Delete).toMatchObject({
      Key: { pk: "DEDUP#Add#d-1", sk: "#DEDUP" },
      ConditionExpression: "attribute_not_exists(pk) OR runId = :id",
      ExpressionAttributeValues: { ":id": "R1" },
    });
  });

  it("materializes both events for the holder's retry, without reading the log", async () => {
    dynamo.on(TransactWriteCommand).resolves({});
    const run = running();
    const outcome = await store.transition(run, must(failAttempt(run, 1, boom, now + 5_000, now)), {
      lastEventId: 4,
    });
    expect(outcome).toMatchObject({ stored: { status: "Pending", seq: 5, enqueueCount: 2 } });
    const items = sentTransactions()[0] ?? [];
    expect(items.map((i) => i.Put?.Item?.eventId ?? "run")).toEqual(["run", 2, 5]);
    expect(items[0]?.Update?.ConditionExpression).toBe("#status = :c_status AND #attempt = :c_attempt");
    expect(items[2]?.Put?.Item).toMatchObject({
      body: { type: "status", status: "Pending", reason: "retry", error: boom },
    });
    expect(dynamo.commandCalls(QueryCommand)).toHaveLength(0);
  });

  it("frees the deduplication lock with the holder's terminal status, the status still inline", async () => {
    dynamo.on(TransactWriteCommand).resolves({});
    const run = running({ deduplicationId: "d-1" });
    await store.transition(run, must(succeed(run, 1, {}, now)), { lastEventId: 2 });
    const items = sentTransactions()[0] ?? [];
    expect(items).toHaveLength(2);
    expect(items[0]?.Update?.ExpressionAttributeValues).toMatchObject({ ":c_status": "Running" });
    expect(items[1]?.Delete).toMatchObject({ Key: { pk: "DEDUP#Add#d-1", sk: "#DEDUP" } });
  });

  it("retries a throttled transaction and returns the stored run", async () => {
    // Arrange
    vi.spyOn(Math, "random").mockReturnValue(0);
    lastEventIdIs(2);
    dynamo
      .on(TransactWriteCommand)
      .rejectsOnce(canceled("ThrottlingError", "None", "None"))
      .resolves({});
    const run = running();
    // Act
    const outcome = store.transition(run, must(cancel(run, "stop", now)));
    await vi.runAllTimersAsync();
    // Assert
    expect(await outcome).toMatchObject({ stored: { status: "Canceled", seq: 3 } });
    expect(dynamo.commandCalls(TransactWriteCommand)).toHaveLength(2);
    expect(sentTransactions()[1]).toEqual(sentTransactions()[0]);
  });

  it("reports a lost race with the run as it now is, from the run's failed condition (ALL_OLD)", async () => {
    // Arrange: the run was retried since it was read
    const current = pending({ attempt: 1, seq: 3, statusInline: undefined, enqueueCount: 2 });
    lastEventIdIs(3);
    dynamo
      .on(TransactWriteCommand)
      .rejects(canceled({ Code: "ConditionalCheckFailed", Item: current }, "None", "None"));
    const run = running();
    // Act
    const outcome = await store.transition(run, must(cancel(run, "stop", now)));
    // Assert
    expect(outcome).toEqual({ current });
    expect(dynamo.commandCalls(TransactWriteCommand)).toHaveLength(1);
  });

  it("takes the next id when another writer took the one it chose for the materialized event", async () => {
    // Arrange: the log ended at 3 when read, at 4 after the clash
    lastEventIdIs(3, 4);
    dynamo
      .on(TransactWriteCommand)
      .rejectsOnce(canceled("None", "None", "ConditionalCheckFailed"))
      .resolves({});
    const run = running();
    // Act
    const outcome = await store.transition(run, must(cancel(run, "stop", now)));
    // Assert
    expect(outcome).toMatchObject({ stored: { status: "Canceled", seq: 5 } });
    const [first, second] = sentTransactions();
    expect(first?.[2]?.Put?.Item?.eventId).toBe(4);
    expect(second?.[2]?.Put?.Item?.eventId).toBe(5);
    expect(second?.[1]?.Put?.Item?.eventId).toBe(2);
    expect(Object.values(second?.[0]?.Update?.ExpressionAttributeValues ?? {})).toContain(5);
  });

  it("throws on a failed condition it cannot explain (the lock held by another run)", async () => {
    lastEventIdIs(2);
    dynamo.on(TransactWriteCommand).rejects(canceled("None", "None", "None", "ConditionalCheckFailed"));
    const run = running({ deduplicationId: "d-1" });
    await expect(store.transition(run, must(cancel(run, "stop", now)))).rejects.toThrow(
      "run R1: unexpected condition failure",
    );
  });

  it("rethrows a cancellation that is neither a condition nor transient", async () => {
    lastEventIdIs(2);
    const invalid = canceled("ValidationError", "None", "None");
    dynamo.on(TransactWriteCommand).rejects(invalid);
    const run = running();
    await expect(store.transition(run, must(cancel(run, "stop", now)))).rejects.toBe(invalid);
    expect(dynamo.commandCalls(TransactWriteCommand)).toHaveLength(1);
  });
});

describe("RunStore data events and heartbeats", () => {
  it("putEvents writes each event conditionally and stops at the first id another writer took", async () => {
    // Arrange
    dynamo
      .on(PutCommand)
      .resolvesOnce({})
      .rejectsOnce(new ConditionalCheckFailedException({ message: "taken", $metadata: {} }))
      .resolves({});
    // Act
    const written = await store.putEvents("R1", 1, 3, [
      { type: "progress", progress: 0.1 },
      { type: "progress", progress: 0.2 },
      { type: "progress", progress: 0.3 },
    ]);
    // Assert
    expect(written).toBe(1);
    const puts = dynamo.commandCalls(PutCommand).map((c) => c.args[0].input);
    expect(puts).toHaveLength(2);
    expect(puts.map((p) => p.Item?.eventId)).toEqual([3, 4]);
    expect(puts.every((p) => p.ConditionExpression === "attribute_not_exists(sk)")).toBe(true);
  });

  it("putEvents rethrows any other error as EventsWriteError, with how many events it stored first", async () => {
    const throttled = new ProvisionedThroughputExceededException({ message: "slow down", $metadata: {} });
    dynamo.on(PutCommand).resolvesOnce({}).rejects(throttled);
    const events = [
      { type: "progress", progress: 0.5 },
      { type: "progress", progress: 1 },
    ] as const;
    const error = await store.putEvents("R1", 1, 3, events).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EventsWriteError);
    expect(error).toMatchObject({ written: 1, cause: throttled });
  });

  it("putHeartbeat rethrows a throttling error that outlasted the SDK's retries", async () => {
    const throttled = new ProvisionedThroughputExceededException({ message: "slow down", $metadata: {} });
    dynamo.on(PutCommand).rejects(throttled);
    await expect(store.putHeartbeat("w1", now, 60)).rejects.toBe(throttled);
  });

  it("putHeartbeat writes the beat with an expiry after the TTL", async () => {
    dynamo.on(PutCommand).resolves({});
    await store.putHeartbeat("w1", now + 1, 60);
    expect(dynamo.commandCalls(PutCommand)[0]?.args[0].input.Item).toEqual({
      pk: "WORKER#w1",
      sk: "#WORKER",
      kind: "worker",
      workerId: "w1",
      beatMs: now + 1,
      expiresAt: Math.ceil((now + 1) / 1000) + 60,
    });
  });
});
