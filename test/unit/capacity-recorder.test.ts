import { Readable } from "node:stream";
import {
  type AttributeValue,
  DescribeTableCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  TransactGetItemsCommand,
  TransactWriteItemsCommand,
  UpdateItemCommand,
} from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, PutCommand, TransactWriteCommand } from "@aws-sdk/lib-dynamodb";
import { describe, expect, it } from "vitest";
import { CapacityRecorder } from "../../sdk/src/metrics/capacity-recorder.js";
import {
  readUnitsFor,
  reportedUnits,
  transactWriteUnits,
  updateBytesEstimate,
  writeUnitsFor,
} from "../../sdk/src/metrics/capacity-rules.js";
import { attributeValueBytes, itemSizeBytes, numberBytes } from "../../sdk/src/metrics/item-size.js";

const S = (s: string): AttributeValue => ({ S: s });
const N = (n: string): AttributeValue => ({ N: n });

describe("itemSizeBytes", () => {
  it("counts attribute names and string values in UTF-8 bytes", () => {
    expect(itemSizeBytes({ id: S("abc") })).toBe(2 + 3);
    expect(itemSizeBytes({ é: S("€") })).toBe(2 + 3);
  });

  it("counts binary values by raw length, booleans and nulls as 1 byte", () => {
    expect(itemSizeBytes({ b: { B: new Uint8Array(10) } })).toBe(1 + 10);
    expect(itemSizeBytes({ t: { BOOL: false }, z: { NULL: true } })).toBe(1 + 1 + 1 + 1);
  });

  it("counts 3 bytes per list or map plus 1 byte per element (map elements with their names)", () => {
    expect(attributeValueBytes({ L: [] })).toBe(3);
    expect(attributeValueBytes({ M: {} })).toBe(3);
    expect(attributeValueBytes({ L: [S("ab"), N("1")] })).toBe(3 + (2 + 1) + (2 + 1));
    expect(attributeValueBytes({ M: { a: S("ab") } })).toBe(3 + (1 + 2 + 1));
    expect(attributeValueBytes({ M: { a: { M: { b: N("1") } } } })).toBe(3 + (1 + (3 + (1 + 2 + 1)) + 1));
  });

  it("sums the elements of sets", () => {
    expect(attributeValueBytes({ SS: ["ab", "cde"] })).toBe(5);
    expect(attributeValueBytes({ NS: ["1", "23"] })).toBe(4);
    expect(attributeValueBytes({ BS: [new Uint8Array(10), new Uint8Array(5)] })).toBe(15);
  });

  it("sums a whole item", () => {
    const item = { pk: S("RUN#1"), attempt: N("3"), tags: { SS: ["a"] }, args: { M: { x: N("12") } } };
    expect(itemSizeBytes(item)).toBe(2 + 5 + (7 + 2) + (4 + 1) + (4 + 3 + 1 + 2 + 1));
  });
});

describe("numberBytes", () => {
  it.each([
    ["0", 1],
    ["1", 2],
    ["12", 2],
    ["123", 3],
    ["1234", 3],
    ["12345", 4],
    ["12345678901234567890", 11],
    ["1000000", 2],
    ["1700000000000", 3],
    ["0.001", 2],
    ["1.5", 3],
    ["10.5", 3],
    ["-12.5", 4],
    ["1.5E3", 2],
  ])("%s takes %i bytes", (value, bytes) => {
    expect(numberBytes(value)).toBe(bytes);
  });
});

describe("unit rules", () => {
  it("bills writes per started KB and strongly consistent reads per started 4 KB, at least 1", () => {
    expect([0, 1024, 1025, 3000].map(writeUnitsFor)).toEqual([1, 1, 2, 3]);
    expect([0, 4096, 4097].map(readUnitsFor)).toEqual([1, 1, 2]);
  });

  it("estimates an update as its key, values and names", () => {
    const bytes = updateBytesEstimate({
      Key: { pk: S("a") },
      ExpressionAttributeValues: { ":s": S("Running"), ":n": N("12") },
      ExpressionAttributeNames: { "#s": "status" },
    });
    expect(bytes).toBe(2 + 1 + 7 + 2 + 6);
  });

  it("recomputes a transaction per item: 2 WU per started KB", () => {
    const units = transactWriteUnits([
      { Put: { TableName: "jobs", Item: { pk: S("a") } } },
      { Put: { TableName: "jobs", Item: { pk: S("b"), pad: S("x".repeat(1100)) } } },
      { Update: { TableName: "jobs", Key: { pk: S("c") }, UpdateExpression: "SET v = :v" } },
      { Delete: { TableName: "other", Key: { pk: S("d") } } },
      {
        ConditionCheck: {
          TableName: "other",
          Key: { pk: S("e") },
          ConditionExpression: "attribute_exists(pk)",
        },
      },
    ]);
    expect(Object.fromEntries(units)).toEqual({ jobs: 2 + 4 + 2, other: 2 + 2 });
  });

  it("sizes a transaction's action at least as the stored item its cancellation reason returns", () => {
    const stored = { pk: S("c"), big: S("x".repeat(2100)) };
    const units = transactWriteUnits(
      [{ Update: { TableName: "jobs", Key: { pk: S("c") }, UpdateExpression: "SET v = :v" } }],
      [stored],
    );
    expect(units.get("jobs")).toBe(2 * 3);
  });

  it("reads reported units per table and index, or as one total", () => {
    expect(
      reportedUnits("write", {
        TableName: "jobs",
        CapacityUnits: 3,
        Table: { CapacityUnits: 2 },
        GlobalSecondaryIndexes: { byJob: { CapacityUnits: 1 } },
      }),
    ).toEqual([
      { target: "jobs", readUnits: 0, writeUnits: 2 },
      { target: "jobs/byJob", readUnits: 0, writeUnits: 1 },
    ]);
    expect(reportedUnits("read", [{ TableName: "jobs", CapacityUnits: 0.5 }])).toEqual([
      { target: "jobs", readUnits: 0.5, writeUnits: 0 },
    ]);
    expect(
      reportedUnits("write", { TableName: "jobs", Table: { ReadCapacityUnits: 1, WriteCapacityUnits: 4 } }),
    ).toEqual([{ target: "jobs", readUnits: 1, writeUnits: 4 }]);
  });
});

/** A DynamoDB client whose HTTP layer answers `respond(operation, body)` and keeps the sent bodies. */
function fakeDynamoDb(respond: (operation: string, body: Record<string, unknown>) => FakeResponse) {
  const sent: { operation: string; body: Record<string, unknown> }[] = [];
  const client = new DynamoDBClient({
    region: "us-east-1",
    endpoint: "http://127.0.0.1:1",
    credentials: { accessKeyId: "x", secretAccessKey: "x" },
    maxAttempts: 1,
    requestHandler: {
      handle: async (request: { headers: Record<string, string>; body: Uint8Array }) => {
        const operation = (request.headers["x-amz-target"] ?? "").split(".")[1] ?? "?";
        const body = JSON.parse(new TextDecoder().decode(request.body)) as Record<string, unknown>;
        sent.push({ operation, body });
        const { status = 200, json } = respond(operation, body);
        return {
          response: {
            statusCode: status,
            headers: { "content-type": "application/x-amz-json-1.0" },
            body: Readable.from([Buffer.from(JSON.stringify(json))]),
          },
        };
      },
    },
  });
  return { client, sent };
}

interface FakeResponse {
  status?: number;
  json: Record<string, unknown>;
}

const ok = (json: Record<string, unknown> = {}): FakeResponse => ({ json });
const dynamoError = (type: string, fields: Record<string, unknown>): FakeResponse => ({
  status: 400,
  json: { __type: `com.amazonaws.dynamodb.v20120810#${type}`, message: type, ...fields },
});

describe("CapacityRecorder", () => {
  it("asks every capacity-reporting request for INDEXES, keeps a caller's own value, leaves other operations alone", async () => {
    const { client, sent } = fakeDynamoDb(() => ok());
    new CapacityRecorder().attach(client, "client");

    await client.send(new PutItemCommand({ TableName: "jobs", Item: { pk: S("a") } }));
    await client.send(
      new GetItemCommand({ TableName: "jobs", Key: { pk: S("a") }, ReturnConsumedCapacity: "TOTAL" }),
    );
    await client.send(new DescribeTableCommand({ TableName: "jobs" }));

    expect(sent.map((s) => [s.operation, s.body.ReturnConsumedCapacity])).toEqual([
      ["PutItem", "INDEXES"],
      ["GetItem", "TOTAL"],
      ["DescribeTable", undefined],
    ]);
  });

  it("records reported table and index units, reads apart from writes, per component", async () => {
    const { client } = fakeDynamoDb((operation) =>
      operation === "PutItem"
        ? ok({
            ConsumedCapacity: {
              TableName: "jobs",
              CapacityUnits: 2,
              Table: { CapacityUnits: 1 },
              GlobalSecondaryIndexes: { byJob: { CapacityUnits: 1 } },
            },
          })
        : ok({ ConsumedCapacity: { TableName: "jobs", CapacityUnits: 0.5, Table: { CapacityUnits: 0.5 } } }),
    );
    const recorder = new CapacityRecorder();
    recorder.attach(client, "worker");

    await client.send(new PutItemCommand({ TableName: "jobs", Item: { pk: S("a") } }));
    await client.send(new GetItemCommand({ TableName: "jobs", Key: { pk: S("a") } }));
    await client.send(new GetItemCommand({ TableName: "jobs", Key: { pk: S("a") } }));

    expect(recorder.totals().byComponent.worker).toEqual({
      readUnits: 1,
      writeUnits: 2,
      requests: { PutItem: 1, GetItem: 2 },
      failedConditionalWrites: 0,
    });
    expect(recorder.breakdown()).toEqual({
      worker: {
        PutItem: { jobs: { readUnits: 0, writeUnits: 1 }, "jobs/byJob": { readUnits: 0, writeUnits: 1 } },
        GetItem: { jobs: { readUnits: 1, writeUnits: 0 } },
      },
    });
  });

  it("raises an under-reported transaction to 2 WU per item and KB", async () => {
    const { client } = fakeDynamoDb(() =>
      ok({ ConsumedCapacity: [{ TableName: "jobs", CapacityUnits: 2, Table: { CapacityUnits: 2 } }] }),
    );
    const recorder = new CapacityRecorder();
    recorder.attach(client, "client");

    await client.send(
      new TransactWriteItemsCommand({
        TransactItems: ["a", "b", "c"].map((pk) => ({ Put: { TableName: "jobs", Item: { pk: S(pk) } } })),
      }),
    );

    expect(recorder.breakdown().client?.TransactWriteItems).toEqual({
      jobs: { readUnits: 0, writeUnits: 6 },
    });
  });

  it("keeps a transaction's reported units when they are higher than the recomputation", async () => {
    const { client } = fakeDynamoDb(() =>
      ok({ ConsumedCapacity: [{ TableName: "jobs", CapacityUnits: 12, Table: { CapacityUnits: 12 } }] }),
    );
    const recorder = new CapacityRecorder();
    recorder.attach(client, "client");

    await client.send(
      new TransactWriteItemsCommand({
        TransactItems: [{ Update: { TableName: "jobs", Key: { pk: S("a") }, UpdateExpression: "REMOVE v" } }],
      }),
    );
    await client.send(
      new TransactGetItemsCommand({ TransactItems: [{ Get: { TableName: "jobs", Key: { pk: S("a") } } }] }),
    );

    expect(recorder.totals().total).toMatchObject({ writeUnits: 12, readUnits: 12 });
  });

  it("costs a failed conditional write by the existing item it returns, or 1 WU when there is none", async () => {
    const existing = { pk: S("a"), big: S("x".repeat(1500)) };
    // The update finds the item; the put, conditioned on an item that does not exist, finds none.
    const { client } = fakeDynamoDb((operation) =>
      dynamoError("ConditionalCheckFailedException", operation === "UpdateItem" ? { Item: existing } : {}),
    );
    const recorder = new CapacityRecorder();
    recorder.attach(client, "worker");
    const update = {
      TableName: "jobs",
      UpdateExpression: "SET v = :v",
      ConditionExpression: "v = :old",
      ExpressionAttributeValues: { ":v": N("2"), ":old": N("1") },
      ReturnValuesOnConditionCheckFailure: "ALL_OLD" as const,
    };

    await expect(client.send(new UpdateItemCommand({ ...update, Key: { pk: S("a") } }))).rejects.toThrow(
      "ConditionalCheckFailedException",
    );
    await expect(
      client.send(
        new PutItemCommand({
          TableName: "jobs",
          Item: { pk: S("b"), big: S("x".repeat(1500)) },
          ConditionExpression: "attribute_exists(pk)",
          ReturnValuesOnConditionCheckFailure: "ALL_OLD",
        }),
      ),
    ).rejects.toThrow("ConditionalCheckFailedException");

    expect(recorder.breakdown().worker).toEqual({
      UpdateItem: { jobs: { readUnits: 0, writeUnits: 2 } },
      PutItem: { jobs: { readUnits: 0, writeUnits: 1 } },
    });
    expect(recorder.totals().byComponent.worker?.failedConditionalWrites).toBe(2);
  });

  it("estimates a failed conditional write from the request when the existing item was not asked for", async () => {
    const { client } = fakeDynamoDb(() => dynamoError("ConditionalCheckFailedException", {}));
    const recorder = new CapacityRecorder();
    recorder.attach(client, "client");

    const item = { pk: S("a"), big: S("x".repeat(2500)) };
    await expect(
      client.send(
        new PutItemCommand({
          TableName: "jobs",
          Item: item,
          ConditionExpression: "attribute_not_exists(pk)",
        }),
      ),
    ).rejects.toThrow();

    expect(recorder.totals().total).toMatchObject({ writeUnits: 3, failedConditionalWrites: 1 });
  });

  it("costs a canceled transaction as recomputed and counts its failed conditions", async () => {
    const stored = { pk: S("a"), big: S("x".repeat(1500)) };
    const { client } = fakeDynamoDb(() =>
      dynamoError("TransactionCanceledException", {
        CancellationReasons: [{ Code: "ConditionalCheckFailed", Item: stored }, { Code: "None" }],
      }),
    );
    const recorder = new CapacityRecorder();
    recorder.attach(client, "client");

    await expect(
      client.send(
        new TransactWriteItemsCommand({
          TransactItems: [
            {
              ConditionCheck: {
                TableName: "jobs",
                Key: { pk: S("a") },
                ConditionExpression: "attribute_exists(x)",
              },
            },
            { Put: { TableName: "jobs", Item: { pk: S("b") } } },
          ],
        }),
      ),
    ).rejects.toThrow();

    expect(recorder.totals().total).toEqual({
      readUnits: 0,
      writeUnits: 2 * 2 + 2,
      requests: { TransactWriteItems: 1 },
      failedConditionalWrites: 1,
    });
  });

  it("sees a document client's requests marshalled", async () => {
    const { client, sent } = fakeDynamoDb((operation) =>
      operation === "PutItem"
        ? ok({ ConsumedCapacity: { TableName: "jobs", CapacityUnits: 1, Table: { CapacityUnits: 1 } } })
        : ok({ ConsumedCapacity: [{ TableName: "jobs", CapacityUnits: 2 }] }),
    );
    const doc = DynamoDBDocumentClient.from(client);
    const recorder = new CapacityRecorder();
    recorder.attach(doc, "client");

    await doc.send(new PutCommand({ TableName: "jobs", Item: { pk: "a", n: 1 } }));
    // Two items of 1.5 KB: 2 × (2 WU × 2 KB) = 8 WU, which only marshalled items can show.
    await doc.send(
      new TransactWriteCommand({
        TransactItems: ["a", "b"].map((pk) => ({
          Put: { TableName: "jobs", Item: { pk, big: "x".repeat(1500) } },
        })),
      }),
    );

    expect(sent.map((s) => s.body.ReturnConsumedCapacity)).toEqual(["INDEXES", "INDEXES"]);
    expect(recorder.breakdown().client).toEqual({
      PutItem: { jobs: { readUnits: 0, writeUnits: 1 } },
      TransactWriteItems: { jobs: { readUnits: 0, writeUnits: 8 } },
    });
  });

  it("sums components into the total, and forgets everything on reset", async () => {
    const { client: a } = fakeDynamoDb(() =>
      ok({ ConsumedCapacity: { TableName: "jobs", CapacityUnits: 1 } }),
    );
    const { client: b } = fakeDynamoDb(() =>
      ok({ ConsumedCapacity: { TableName: "jobs", CapacityUnits: 3 } }),
    );
    const recorder = new CapacityRecorder();
    recorder.attach(a, "client");
    recorder.attach(b, "worker");

    await a.send(new PutItemCommand({ TableName: "jobs", Item: { pk: S("a") } }));
    await b.send(new PutItemCommand({ TableName: "jobs", Item: { pk: S("a") } }));

    expect(recorder.totals().total).toEqual({
      readUnits: 0,
      writeUnits: 4,
      requests: { PutItem: 2 },
      failedConditionalWrites: 0,
    });
    recorder.reset();
    expect(recorder.totals()).toEqual({
      byComponent: {},
      total: { readUnits: 0, writeUnits: 0, requests: {}, failedConditionalWrites: 0 },
    });
  });
});
