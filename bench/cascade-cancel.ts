/**
 * Cascade cancel of a large tree: `cancel` of a root with 10 descendants and of one with
 * 10,000 (by default: 100 children Running, 99 Pending grandchildren each), counting
 * the caller's requests, then how long the table stream's cascade
 * (`runs/cascade-cancel.ts`) takes until every descendant is Canceled, with nobody
 * waiting on them, and what the stream consumer spent on it.
 *
 *   npx tsx bench/cascade-cancel.ts [children=100] [grandchildren=99]
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SQSClient } from "@aws-sdk/client-sqs";
import { localClientConfig } from "../local/aws-clients.js";
import { connect } from "../sdk/src/connect.js";
import { JobApp } from "../sdk/src/index.js";
import { readRuns } from "../sdk/src/store/listing.js";
import type { RunStore } from "../sdk/src/store/run-store.js";
import { type RunTree, seedRunTree } from "../test/support/run-tree.js";
import { startBenchSystem } from "./support/bench-system.js";

const [children = 100, grandchildren = 99] = process.argv.slice(2).map(Number);
const system = await startBenchSystem({ app: new JobApp(), workers: 0, maintenance: false });
// Seeding and checking go through clients of their own, outside every recorded component.
const { store: observer } = connect({
  dynamodb: new DynamoDBClient(localClientConfig(system.dynamoDbEndpoint)),
  sqs: new SQSClient(localClientConfig(system.sqsEndpoint)),
  tableName: system.tableName,
  laneUrls: system.laneUrls,
});

/** How many of the tree's descendants are Canceled now. */
async function canceledCount(store: RunStore, tree: RunTree): Promise<number> {
  let canceled = 0;
  const keys = (async function* () {
    for (const runId of tree.descendants) yield { runId, createdSk: "" };
  })();
  for await (const run of readRuns(store, keys)) if (run.status === "Canceled") canceled++;
  return canceled;
}

/** The client component's requests for `cancel(tree's root)`. */
async function cancelRequests(tree: RunTree): Promise<Record<string, number>> {
  system.requests.reset();
  await system.client.client.cancel(tree.rootRunId);
  return Object.fromEntries(
    Object.entries(system.requests.table()).filter(([key]) => key.startsWith("client.")),
  );
}

const seed0 = performance.now();
const small = await seedRunTree(observer, [2, 4]);
const large = await seedRunTree(observer, [children, grandchildren]);
const seedSeconds = (performance.now() - seed0) / 1000;
const smallRequests = await cancelRequests(small);
system.capacity.reset();
const t0 = performance.now();
const largeRequests = await cancelRequests(large);
const callMs = performance.now() - t0;
let canceled = 0;
while (canceled < large.descendants.length) {
  await new Promise((r) => setTimeout(r, 1000));
  canceled = await canceledCount(observer, large);
}
const cascadeSeconds = (performance.now() - t0) / 1000;
const stream = system.capacity.totals().byComponent.stream;
const streamRequests = Object.fromEntries(
  Object.entries(system.requests.table()).filter(([key]) => key.startsWith("stream.DynamoDB.")),
);
await system.stop();

console.log(
  `seeded ${small.descendants.length} + ${large.descendants.length} descendants in ${seedSeconds.toFixed(1)} s`,
);
console.log(`cancel with ${small.descendants.length} descendants:`, smallRequests);
console.log(
  `cancel with ${large.descendants.length} descendants:`,
  largeRequests,
  `(${callMs.toFixed(0)} ms)`,
);
console.log(
  `all ${large.descendants.length} descendants Canceled ${cascadeSeconds.toFixed(1)} s after the call, nobody waiting`,
);
console.log("stream consumer for the cascade:", streamRequests, {
  writeUnits: Math.round(stream?.writeUnits ?? 0),
  readUnits: Math.round(stream?.readUnits ?? 0),
});
console.log(
  JSON.stringify({
    bench: "cascade-cancel",
    descendants: large.descendants.length,
    sameRequests: JSON.stringify(smallRequests) === JSON.stringify(largeRequests),
    cancelRequests: largeRequests,
    cascadeSeconds: Math.round(cascadeSeconds * 10) / 10,
  }),
);
