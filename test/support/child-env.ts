/**
 * The child side of the tests' child processes (`spawn-child.ts` is the parent side):
 * the environment the parent passed, and a job system connected to the table and lanes
 * it names.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SQSClient } from "@aws-sdk/client-sqs";
import { localClientConfig } from "../../local/aws-clients.js";
import { connect, type JobSystem } from "../../sdk/src/connect.js";
import type { JobApp } from "../../sdk/src/jobs/job-app.js";

/** The environment variable `name`; throws if the parent did not set it. */
export function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

/** A DynamoDB client on the parent's DynamoDB Local. */
export function parentDynamoDb(): DynamoDBClient {
  return new DynamoDBClient(localClientConfig(env("DYNAMODB_ENDPOINT")));
}

/** Connects to the parent's table and lanes (with `dynamodb` if given, to add middleware first). */
export function connectToParent(options: { app?: JobApp; dynamodb?: DynamoDBClient } = {}): JobSystem {
  return connect({
    dynamodb: options.dynamodb ?? parentDynamoDb(),
    sqs: new SQSClient(localClientConfig(env("SQS_ENDPOINT"))),
    tableName: env("TABLE_NAME"),
    laneUrls: JSON.parse(env("LANE_URLS")),
    ...(options.app ? { app: options.app } : {}),
  });
}
