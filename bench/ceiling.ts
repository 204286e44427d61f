/**
 * The emulators' ceiling: runs per second of the floor request mix (bench/ceiling-mix.ts)
 * at concurrency 1 and 16, against a fresh DynamoDB Local and fauxqs started here, and
 * the median latency of one raw conditional UpdateItem. Prints a table, then one JSON line.
 *
 *   npx tsx bench/ceiling.ts [durationMs=10000]
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SQSClient } from "@aws-sdk/client-sqs";
import { localClientConfig } from "../local/aws-clients.js";
import { startDynamoDbLocal } from "../local/dynamodb-local.js";
import { createLanes, createTable } from "../local/provision.js";
import { startSqsLocal } from "../local/sqs-local.js";
import { type CeilingResult, measureCeiling, measureRawUpdateP50 } from "./ceiling-mix.js";

const durationMs = Number(process.argv[2] ?? 10_000);
const WARM_UP_MS = 3_000;
const RAW_UPDATE_SAMPLES = 300;

const [dynamoLocal, sqsLocal] = await Promise.all([startDynamoDbLocal({}), startSqsLocal({})]);
const dynamodb = new DynamoDBClient(localClientConfig(dynamoLocal.endpoint));
const sqs = new SQSClient(localClientConfig(sqsLocal.endpoint));
try {
  const tableName = "ceiling-jobs";
  const [{ laneUrls }] = await Promise.all([createLanes(sqs, "ceiling-"), createTable(dynamodb, tableName)]);
  const queueUrl = laneUrls.normal;
  if (!queueUrl) throw new Error("no normal lane");
  const target = { dynamodb, sqs, tableName, queueUrl };

  await measureCeiling({ ...target, concurrency: 16, durationMs: WARM_UP_MS }); // JIT, sockets, Java
  const c1 = await measureCeiling({ ...target, concurrency: 1, durationMs });
  const c16 = await measureCeiling({ ...target, concurrency: 16, durationMs });
  // Last, when DynamoDB Local is warmest: cold, the same measurement came out up to 3× slower.
  const rawUpdateP50 = await measureRawUpdateP50({ dynamodb, tableName, samples: RAW_UPDATE_SAMPLES });

  console.log(
    `floor mix per run: PutItem, SendMessage, ReceiveMessage, 2 × UpdateItem, DeleteMessage, GetItem`,
  );
  console.log(`${durationMs / 1000} s per concurrency; latencies are medians in ms`);
  console.table([c1, c16].map(row));
  console.log(
    `raw conditional UpdateItem alone: p50 ${rawUpdateP50.toFixed(2)} ms (${RAW_UPDATE_SAMPLES} sequential)`,
  );
  console.log(
    JSON.stringify({
      bench: "ceiling",
      runsPerSecond: { c1: round(c1.runsPerSecond), c16: round(c16.runsPerSecond) },
      p50Ms: { UpdateItem: round(rawUpdateP50) },
    }),
  );
} finally {
  dynamodb.destroy();
  sqs.destroy();
  await Promise.all([dynamoLocal.stop(), sqsLocal.stop()]);
}

function row(result: CeilingResult): Record<string, number> {
  return {
    concurrency: result.concurrency,
    runs: result.runs,
    "runs/s": round(result.runsPerSecond),
    ...Object.fromEntries(Object.entries(result.p50Ms).map(([request, ms]) => [request, round(ms)])),
    emptyReceives: result.emptyReceives,
  };
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}
