/**
 * Per-test resources on the shared local stack: a fresh table and fresh lanes under a
 * random prefix, so tests never see each other's data. Every table and queue made here
 * is deleted after its test file (`disposeTestResources`, run by dispose-resources.ts):
 * DynamoDB Local slows down as tables pile up (a put took 2× as long after 300 tables),
 * and a whole suite creates hundreds.
 */
import { randomUUID } from "node:crypto";
import { DeleteTableCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DeleteQueueCommand, SQSClient } from "@aws-sdk/client-sqs";
import { inject } from "vitest";
import { localClientConfig } from "../../local/aws-clients.js";
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

export async function createTestResources(): Promise<TestResources> {
  if (!inject("dynamoEndpoint")) {
    throw new Error("this test needs the emulators: list it in the integration project (vitest.config.ts)");
  }
  const prefix = `t${randomUUID().slice(0, 8)}-`;
  const dynamodb = new DynamoDBClient(localClientConfig(inject("dynamoEndpoint")));
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
    dynamoDbEndpoint: inject("dynamoEndpoint"),
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
