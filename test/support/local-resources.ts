/**
 * Per-test resources on the shared local stack: a fresh table and fresh lanes under a
 * random prefix, so tests never see each other's data. Every table and queue made here
 * is deleted after its test file (`disposeTestResources`, run by dispose-resources.ts):
 * DynamoDB Local slows down as tables pile up (a put took 2× as long after 300 tables),
 * and a whole suite creates hundreds. A file that writes thousands of items calls
 * {@link useOwnDynamoDbLocal}: DynamoDB Local never forgets a table's stream records, and
 * after one 20,000-item table every later put on any table took 3.5× as long.
 */
import { randomUUID } from "node:crypto";
import { DeleteTableCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DeleteQueueCommand, SQSClient } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, inject } from "vitest";
import { localClientConfig } from "../../local/aws-clients.js";
import { type DynamoDbLocal, startDynamoDbLocal } from "../../local/dynamodb-local.js";
import { createLanes, createTable } from "../../local/provision.js";

export interface TestResources {
  /** The random prefix of this call's table and queues, e.g. `t1a2b3c4d-`. */
  prefix: string;
  tableName: string;
  /** Lane name → queue URL. */
  laneUrls: Record<string, string>;
  /** Lane name → its dead-letter queue's URL. */
  deadLetterUrls: Record<string, string>;
  /** DynamoDB Local's endpoint (for stream consumers). */
  dynamoDbEndpoint: string;
  dynamodb: DynamoDBClient;
  sqs: SQSClient;
}

/** What this test process created, to delete after its file. */
const created: TestResources[] = [];

/** This file's own DynamoDB Local, when it asked for one. */
let own: DynamoDbLocal | undefined;

/**
 * Gives the calling test file a DynamoDB Local of its own (started before its tests,
 * stopped after them), so the many items it writes do not slow every later file on the
 * shared one. Call it at the top level of the file.
 */
export function useOwnDynamoDbLocal(): void {
  beforeAll(async () => {
    own = await startDynamoDbLocal({});
  }, 60_000);
  afterAll(async () => {
    await disposeTestResources();
    await own?.stop();
    own = undefined;
  }, 60_000);
}

export async function createTestResources(): Promise<TestResources> {
  if (!inject("dynamoEndpoint")) {
    throw new Error("this test needs the emulators: list it in the integration project (vitest.config.ts)");
  }
  const prefix = `t${randomUUID().slice(0, 8)}-`;
  const dynamoDbEndpoint = own?.endpoint ?? inject("dynamoEndpoint");
  const dynamodb = new DynamoDBClient(localClientConfig(dynamoDbEndpoint));
  const sqs = new SQSClient(localClientConfig(inject("sqsEndpoint")));
  const tableName = `${prefix}jobs`;
  const [{ laneUrls, deadLetterUrls }] = await Promise.all([
    createLanes(sqs, prefix),
    createTable(dynamodb, tableName),
  ]);
  const resources: TestResources = {
    prefix,
    tableName,
    laneUrls,
    deadLetterUrls,
    dynamodb,
    sqs,
    dynamoDbEndpoint,
  };
  created.push(resources);
  return resources;
}

/** Deletes every table and queue `createTestResources` made in this process (best effort: a test may have deleted some). */
export async function disposeTestResources(): Promise<void> {
  const all = created.splice(0);
  await Promise.allSettled(
    all.flatMap((r) => [
      r.dynamodb.send(new DeleteTableCommand({ TableName: r.tableName })),
      ...[...Object.values(r.laneUrls), ...Object.values(r.deadLetterUrls)].map((QueueUrl) =>
        r.sqs.send(new DeleteQueueCommand({ QueueUrl })),
      ),
    ]),
  );
}
