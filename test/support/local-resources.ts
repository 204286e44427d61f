/**
 * Per-test resources on the shared local stack: a fresh table and fresh lanes under a
 * random prefix, so tests never see each other's data.
 */
import { randomUUID } from "node:crypto";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SQSClient } from "@aws-sdk/client-sqs";
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
  return {
    prefix,
    tableName,
    laneUrls,
    deadLetterUrls,
    dynamodb,
    sqs,
    dynamoDbEndpoint: inject("dynamoEndpoint"),
  };
}
