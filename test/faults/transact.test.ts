/**
 * `transactWrite` against injected DynamoDB transaction outcomes: which cancellation
 * reasons are retried, which are returned, which are rethrown. The document client's
 * `send` is replaced by aws-sdk-client-mock; the backoff sleeps run on fake timers.
 */
import {
  type CancellationReason,
  DynamoDBClient,
  ResourceNotFoundException,
  TransactionCanceledException,
} from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, TransactWriteCommand } from "@aws-sdk/lib-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { type TransactItem, transactWrite } from "../../sdk/src/store/transact.js";

const doc = DynamoDBDocumentClient.from(
  new DynamoDBClient({ region: "us-east-1", credentials: { accessKeyId: "x", secretAccessKey: "x" } }),
);
const dynamo = mockClient(doc);

const items: TransactItem[] = [
  { Put: { TableName: "jobs", Item: { pk: "RUN#1", sk: "#RUN" }, ConditionExpression: "eventSeq = :seq" } },
  { Put: { TableName: "jobs", Item: { pk: "RUN#1", sk: "EVT#000000000002" } } },
];

function canceled(...codes: string[]): TransactionCanceledException {
  const reasons: CancellationReason[] = codes.map((Code) => ({ Code }));
  return new TransactionCanceledException({
    message: `Transaction cancelled, please refer cancellation reasons for specific reasons [${codes.join(", ")}]`,
    $metadata: { httpStatusCode: 400 },
    CancellationReasons: reasons,
  });
}

const calls = () => dynamo.commandCalls(TransactWriteCommand).length;

beforeEach(() => {
  dynamo.reset();
  vi.useFakeTimers();
  vi.spyOn(Math, "random").mockReturnValue(0.5); // backoff factor 0.5 + 0.5 = 1
});

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe("transactWrite", () => {
  it("commits on the first try and sends the items unchanged", async () => {
    // Arrange
    dynamo.on(TransactWriteCommand).resolves({});
    // Act
    const outcome = await transactWrite(doc, items);
    // Assert
    expect(outcome).toEqual({ ok: true });
    expect(dynamo.commandCalls(TransactWriteCommand)[0]?.args[0].input).toEqual({ TransactItems: items });
  });

  it.each([
    ["ThrottlingError", ["ThrottlingError", "None"]],
    ["TransactionConflict", ["None", "TransactionConflict"]],
    ["ProvisionedThroughputExceeded", ["ProvisionedThroughputExceeded", "None"]],
  ])("retries a transaction canceled by %s and then commits", async (_label, codes) => {
    // Arrange
    dynamo
      .on(TransactWriteCommand)
      .rejectsOnce(canceled(...codes))
      .resolves({});
    // Act
    const outcome = transactWrite(doc, items);
    await vi.runAllTimersAsync();
    // Assert
    await expect(outcome).resolves.toEqual({ ok: true });
    expect(calls()).toBe(2);
  });

  it("keeps retrying through a mix of throttling and conflicts", async () => {
    dynamo
      .on(TransactWriteCommand)
      .rejectsOnce(canceled("ThrottlingError", "None"))
      .rejectsOnce(canceled("TransactionConflict", "None"))
      .rejectsOnce(canceled("None", "ThrottlingError"))
      .resolves({});
    const outcome = transactWrite(doc, items);
    await vi.runAllTimersAsync();
    await expect(outcome).resolves.toEqual({ ok: true });
    expect(calls()).toBe(4);
  });

  it("backs off exponentially between retries: 25 ms, then 50 ms", async () => {
    // Arrange
    dynamo
      .on(TransactWriteCommand)
      .rejectsOnce(canceled("ThrottlingError", "None"))
      .rejectsOnce(canceled("ThrottlingError", "None"))
      .resolves({});
    // Act + Assert
    const outcome = transactWrite(doc, items);
    await vi.advanceTimersByTimeAsync(0);
    expect(calls()).toBe(1);
    await vi.advanceTimersByTimeAsync(24);
    expect(calls()).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(calls()).toBe(2);
    await vi.advanceTimersByTimeAsync(49);
    expect(calls()).toBe(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(calls()).toBe(3);
    await expect(outcome).resolves.toEqual({ ok: true });
  });

  it("gives up after 8 retries and rethrows the last cancellation", async () => {
    // Arrange
    const last = canceled("ThrottlingError", "None");
    dynamo.on(TransactWriteCommand).rejects(last);
    // Act
    const outcome = transactWrite(doc, items).catch((error: unknown) => error);
    await vi.runAllTimersAsync();
    // Assert
    const error = await outcome;
    expect(error).toBeInstanceOf(TransactionCanceledException);
    expect((error as TransactionCanceledException).CancellationReasons).toEqual([
      { Code: "ThrottlingError" },
      { Code: "None" },
    ]);
    expect(calls()).toBe(9);
  });

  it("returns the indexes of failed conditions without retrying", async () => {
    // Arrange
    dynamo
      .on(TransactWriteCommand)
      .rejects(canceled("None", "ConditionalCheckFailed", "None", "ConditionalCheckFailed"));
    // Act
    const outcome = await transactWrite(doc, items);
    // Assert
    expect(outcome).toEqual({ ok: false, failedConditions: [1, 3], currentItems: new Map() });
    expect(calls()).toBe(1);
  });

  it("returns a failed condition even when another item was throttled", async () => {
    dynamo.on(TransactWriteCommand).rejects(canceled("ConditionalCheckFailed", "TransactionConflict"));
    expect(await transactWrite(doc, items)).toEqual({
      ok: false,
      failedConditions: [0],
      currentItems: new Map(),
    });
    expect(calls()).toBe(1);
  });

  it("rethrows a cancellation whose reasons are not transient", async () => {
    dynamo.on(TransactWriteCommand).rejects(canceled("ValidationError", "None"));
    await expect(transactWrite(doc, items)).rejects.toBeInstanceOf(TransactionCanceledException);
    expect(calls()).toBe(1);
  });

  it("rethrows a cancellation without reasons", async () => {
    dynamo.on(TransactWriteCommand).rejects(canceled());
    await expect(transactWrite(doc, items)).rejects.toBeInstanceOf(TransactionCanceledException);
    expect(calls()).toBe(1);
  });

  it("rethrows other errors without retrying", async () => {
    // Arrange
    const missing = new ResourceNotFoundException({ message: "Requested resource not found", $metadata: {} });
    dynamo.on(TransactWriteCommand).rejects(missing);
    // Act + Assert
    await expect(transactWrite(doc, items)).rejects.toBe(missing);
    expect(calls()).toBe(1);
  });
});
