/**
 * Vitest global setup: one DynamoDB Local and one fauxqs for the whole test run, on
 * free ports. Test files reach them through `inject("dynamoEndpoint")` /
 * `inject("sqsEndpoint")` (see local-resources.ts); each test creates its own table
 * and queues under a random prefix.
 */
import type { TestProject } from "vitest/node";
import { startDynamoDbLocal } from "../../local/dynamodb-local.js";
import { startSqsLocal } from "../../local/sqs-local.js";

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const [dynamo, sqs] = await Promise.allSettled([startDynamoDbLocal({}), startSqsLocal({})]);
  if (dynamo.status === "rejected" || sqs.status === "rejected") {
    await Promise.all([
      dynamo.status === "fulfilled" ? dynamo.value.stop() : undefined,
      sqs.status === "fulfilled" ? sqs.value.stop() : undefined,
    ]);
    throw dynamo.status === "rejected" ? dynamo.reason : (sqs as PromiseRejectedResult).reason;
  }
  project.provide("dynamoEndpoint", dynamo.value.endpoint);
  project.provide("sqsEndpoint", sqs.value.endpoint);
  return async () => {
    await Promise.all([dynamo.value.stop(), sqs.value.stop()]);
  };
}
