/**
 * Throughput of the job system against the emulators' own ceiling, measured in the same
 * run: `run("Add")` in 16 closed loops (each starts its next run when its last returned)
 * on 2 polling workers × 8, with the stream consumers running; then the floor request
 * mix of `bench/ceiling-mix.ts` in 16 closed loops on a lane of its own. Prints absolute
 * runs/s and the ratio, then one JSON line.
 *
 *   npx tsx bench/throughput.ts [durationMs=10000] [workers=2] [concurrency=8]
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SQSClient } from "@aws-sdk/client-sqs";
import { localClientConfig } from "../local/aws-clients.js";
import { createLanes } from "../local/provision.js";
import { JobApp } from "../sdk/src/index.js";
import { measureCeiling } from "./ceiling-mix.js";
import { startBenchSystem } from "./support/bench-system.js";

const [durationMs = 10_000, workers = 2, concurrency = 8] = process.argv.slice(2).map(Number);
const loops = workers * concurrency;
const app = new JobApp();
const add = app.addJob("Add", ({ a, b }: { a: number; b: number }) => a + b);
const system = await startBenchSystem({ app, workers, concurrency });
const dynamodb = new DynamoDBClient(localClientConfig(system.dynamoDbEndpoint));
const sqs = new SQSClient(localClientConfig(system.sqsEndpoint));
const { laneUrls } = await createLanes(sqs, "ceiling-");
const target = { dynamodb, sqs, tableName: system.tableName, queueUrl: laneUrls.normal as string };

/** `loops` closed loops of run("Add") for `ms`; returns runs per second. */
async function measureSystem(ms: number): Promise<number> {
  const { client } = system.client;
  const started = performance.now();
  let runs = 0;
  await Promise.all(
    Array.from({ length: loops }, async (_, loop) => {
      while (performance.now() - started < ms) {
        await client.run(add, { a: loop, b: runs });
        runs++;
      }
    }),
  );
  return runs / ((performance.now() - started) / 1000);
}

await measureSystem(2_000); // warm up: JIT, connections, the job's usual duration
await measureCeiling({ ...target, concurrency: loops, durationMs: 2_000 });
const ceilingBefore = (await measureCeiling({ ...target, concurrency: loops, durationMs })).runsPerSecond;
const runsPerSecond = await measureSystem(durationMs);
const ceilingAfter = (await measureCeiling({ ...target, concurrency: loops, durationMs })).runsPerSecond;
dynamodb.destroy();
sqs.destroy();
await system.stop();

const ceiling = (ceilingBefore + ceilingAfter) / 2;
const round = (x: number) => Math.round(x * 10) / 10;
console.table({
  'job system, run("Add")': { "runs/s": round(runsPerSecond), loops, workers: `${workers} × ${concurrency}` },
  "ceiling mix (mean of before and after)": { "runs/s": round(ceiling), loops, workers: "-" },
});
console.log(
  `ratio: ${round((runsPerSecond / ceiling) * 100)} % of the ceiling (before ${round(ceilingBefore)}, after ${round(ceilingAfter)})`,
);
console.log(
  JSON.stringify({
    bench: "throughput",
    runsPerSecond: round(runsPerSecond),
    ceilingRunsPerSecond: round(ceiling),
    ratio: Math.round((runsPerSecond / ceiling) * 1000) / 1000,
  }),
);
