/**
 * Throughput of the job system against the emulators' own ceiling, measured in the same
 * run: `run("Add")` in 16 closed loops (each starts its next run when its last returned)
 * on 2 polling workers × 8, with the stream consumers running, and the floor request
 * mix of `bench/ceiling-mix.ts` in 16 closed loops on a lane of its own, alternating
 * (`rounds` of each after a warm-up, the ceiling first and last). Prints the medians as
 * absolute runs/s, the median of each round's ratio to the ceilings measured just before
 * and after it, each round's figures, then one JSON line.
 *
 *   npx tsx bench/throughput.ts [durationMs=6000] [workers=2] [concurrency=8] [rounds=5]
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SQSClient } from "@aws-sdk/client-sqs";
import { localClientConfig } from "../local/aws-clients.js";
import { createLanes } from "../local/provision.js";
import { JobApp } from "../sdk/src/index.js";
import { measureCeiling } from "./ceiling-mix.js";
import { startBenchSystem } from "./support/bench-system.js";
import { percentile } from "./support/stats.js";

const [durationMs = 6_000, workers = 2, concurrency = 8, rounds = 5] = process.argv.slice(2).map(Number);
const warmUpMs = 15_000;
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

// DynamoDB Local's JVM keeps getting faster for the first 20-30 s: warm both up for
// that long, then alternate, so neither side gets the warmer half of the run.
await measureSystem(warmUpMs);
await measureCeiling({ ...target, concurrency: loops, durationMs: warmUpMs });
const ceilings: number[] = [];
const systems: number[] = [];
for (let round = 0; round < rounds; round++) {
  ceilings.push((await measureCeiling({ ...target, concurrency: loops, durationMs })).runsPerSecond);
  systems.push(await measureSystem(durationMs));
}
ceilings.push((await measureCeiling({ ...target, concurrency: loops, durationMs })).runsPerSecond);
dynamodb.destroy();
sqs.destroy();
await system.stop();

const round = (x: number) => Math.round(x * 10) / 10;
const runsPerSecond = percentile(systems, 0.5);
const ceiling = percentile(ceilings, 0.5);
// Each round's system figure against the mean of the ceilings just before and after it,
// so a drift of the emulators' speed during the run cancels out of the ratio.
const ratio = percentile(
  systems.map((s, i) => s / (((ceilings[i] as number) + (ceilings[i + 1] as number)) / 2)),
  0.5,
);
console.table({
  'job system, run("Add")': { "runs/s": round(runsPerSecond), loops, workers: `${workers} × ${concurrency}` },
  "ceiling mix (median)": { "runs/s": round(ceiling), loops, workers: "-" },
});
console.log(
  `ratio: ${round(ratio * 100)} % of the ceiling (median of each round's ratio to the ceilings around it)`,
);
console.log(`rounds: system ${systems.map(round).join(", ")}; ceiling ${ceilings.map(round).join(", ")}`);
console.log(
  JSON.stringify({
    bench: "throughput",
    runsPerSecond: round(runsPerSecond),
    ceilingRunsPerSecond: round(ceiling),
    ratio: Math.round(ratio * 1000) / 1000,
  }),
);
