import {
  type AttributeValue,
  DynamoDBClient,
  PutItemCommand,
  TransactWriteItemsCommand,
  UpdateItemCommand,
} from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, TransactWriteCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import { localClientConfig } from "../../local/aws-clients.js";
import { CapacityRecorder } from "../../sdk/src/metrics/capacity-recorder.js";
import { itemSizeBytes, type MarshalledItem } from "../../sdk/src/metrics/item-size.js";
import { IndexName, tableDefinition } from "../../sdk/src/store/table-definition.js";
import { createTestResources, type TestResources } from "../support/local-resources.js";

const S = (s: string): AttributeValue => ({ S: s });

let resources: TestResources;
const clients: DynamoDBClient[] = [];
let keySeq = 0;

beforeAll(async () => {
  resources = await createTestResources();
});
afterEach(() => {
  for (const client of clients.splice(0)) client.destroy();
});
afterAll(() => {
  resources.dynamodb.destroy();
  resources.sqs.destroy();
});

/** A fresh client on the test DynamoDB Local (a component name can be attached once per client). */
function newClient(): DynamoDBClient {
  const client = new DynamoDBClient(localClientConfig(inject("dynamoEndpoint")));
  clients.push(client);
  return client;
}

/** A key never used before in this file, 10 bytes (`pk` + 8 characters) plus `sk`. */
function freshKey(): MarshalledItem {
  keySeq += 1;
  return { pk: S(`k${String(keySeq).padStart(7, "0")}`), sk: S("R") };
}

function indexKeys(indexName: string, value: string): MarshalledItem {
  const index = tableDefinition.indexes.find((i) => i.indexName === indexName);
  if (!index) throw new Error(`no index ${indexName}`);
  return { [index.partitionKey]: S(`${value}#0`), [index.sortKey]: S(value) };
}

describe("CapacityRecorder on DynamoDB Local", () => {
  it("records a PutItem's table units and each index it writes", async () => {
    const client = newClient();
    const recorder = new CapacityRecorder();
    recorder.attach(client, "client");
    const { tableName } = resources;

    const item = {
      ...freshKey(),
      ...indexKeys(IndexName.byJob, "Add"),
      ...indexKeys(IndexName.byParent, "P1"),
    };
    await client.send(new PutItemCommand({ TableName: tableName, Item: item }));

    expect(recorder.breakdown().client?.PutItem).toEqual({
      [tableName]: { readUnits: 0, writeUnits: 1 },
      [`${tableName}/${IndexName.byJob}`]: { readUnits: 0, writeUnits: 1 },
      [`${tableName}/${IndexName.byParent}`]: { readUnits: 0, writeUnits: 1 },
    });
  });

  it("recomputes a transaction DynamoDB Local under-reports: 2 WU per item", async () => {
    const raw = newClient();
    const client = newClient();
    const recorder = new CapacityRecorder();
    recorder.attach(client, "client");
    const threePuts = () =>
      new TransactWriteItemsCommand({
        TransactItems: [1, 2, 3].map(() => ({ Put: { TableName: resources.tableName, Item: freshKey() } })),
        ReturnConsumedCapacity: "TOTAL",
      });

    const reported = await raw.send(threePuts());
    await client.send(threePuts());

    expect(reported.ConsumedCapacity?.[0]?.CapacityUnits).toBe(2);
    expect(recorder.totals().total).toMatchObject({ writeUnits: 6, requests: { TransactWriteItems: 1 } });
  });

  it("costs a failed conditional update by the item DynamoDB returns", async () => {
    const client = newClient();
    const recorder = new CapacityRecorder();
    recorder.attach(client, "worker");
    const key = freshKey();
    await client.send(
      new PutItemCommand({ TableName: resources.tableName, Item: { ...key, big: S("x".repeat(1500)) } }),
    );
    recorder.reset();

    const update = new UpdateItemCommand({
      TableName: resources.tableName,
      Key: key,
      UpdateExpression: "SET #s = :s",
      ConditionExpression: "attribute_not_exists(#s)",
      ExpressionAttributeNames: { "#s": "big" },
      ExpressionAttributeValues: { ":s": S("y") },
      ReturnValuesOnConditionCheckFailure: "ALL_OLD",
    });
    await expect(client.send(update)).rejects.toThrow("conditional request failed");

    expect(recorder.totals().byComponent.worker).toEqual({
      readUnits: 0,
      writeUnits: 2,
      requests: { UpdateItem: 1 },
      failedConditionalWrites: 1,
    });
  });

  it("records a document client's transaction from its marshalled items", async () => {
    const doc = DynamoDBDocumentClient.from(newClient());
    const recorder = new CapacityRecorder();
    recorder.attach(doc, "client");

    await doc.send(
      new TransactWriteCommand({
        TransactItems: [1, 2].map(() => {
          const { pk, sk } = freshKey();
          return {
            Put: { TableName: resources.tableName, Item: { pk: pk?.S, sk: sk?.S, big: "x".repeat(1500) } },
          };
        }),
      }),
    );

    // 2 items × 2 WU × 2 started KB.
    expect(recorder.breakdown().client?.TransactWriteItems?.[resources.tableName]?.writeUnits).toBe(8);
  });

  it.each<[string, MarshalledItem]>([
    ["strings", { s: S("abc"), é: S("€uro") }],
    ["integers", { a: { N: "1" }, b: { N: "12345" }, c: { N: "1700000000000" }, d: { N: "1000000" } }],
    ["decimals and negatives", { a: { N: "1.5" }, b: { N: "-12.5" }, c: { N: "0.001" }, d: { N: "-1" } }],
    ["exponents and zero", { a: { N: "1.5E3" }, b: { N: "0" }, c: { N: "25e-1" } }],
    ["booleans, nulls and binary", { t: { BOOL: true }, z: { NULL: true }, b: { B: new Uint8Array(10) } }],
    [
      "lists and maps",
      { l: { L: [S("ab"), { N: "1" }] }, m: { M: { a: { M: { b: S("c") } }, d: { L: [] } } } },
    ],
    ["sets", { ss: { SS: ["ab", "cde"] }, ns: { NS: ["1", "23"] }, bs: { BS: [new Uint8Array(3)] } }],
  ])("sizes %s as DynamoDB Local bills them at the 1 KB boundary", async (_label, attributes) => {
    const client = newClient();
    const unitsFor = async (bytes: number) => {
      const base = { ...freshKey(), ...attributes };
      const item = { ...base, pad: S("x".repeat(bytes - itemSizeBytes(base) - "pad".length)) };
      expect(itemSizeBytes(item)).toBe(bytes);
      const out = await client.send(
        new PutItemCommand({ TableName: resources.tableName, Item: item, ReturnConsumedCapacity: "TOTAL" }),
      );
      return out.ConsumedCapacity?.CapacityUnits;
    };

    expect([await unitsFor(1024), await unitsFor(1025)]).toEqual([1, 2]);
  });
});
