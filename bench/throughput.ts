/**
 * Throughput of the local stack: trigger N `Add` runs at once, then wait for all.
 *
 *   npx tsx bench/throughput.ts [runs=200] [workers=2] [concurrency=8]
 */
import { app } from "../examples/jobs.js";
import { startLocalStack } from "../local/stack.js";

const [runs = 200, workers = 2, concurrency = 8] = process.argv.slice(2).map(Number);
const stack = await startLocalStack({ app, workers, concurrency, timerIntervalMs: 60_000 });
const { client } = stack.system;
await client.run("Add", { a: 0, b: 0 });

const t0 = performance.now();
const triggered = [];
for (let i = 0; i < runs; i += 20) {
  triggered.push(
    ...(await Promise.all(
      Array.from({ length: Math.min(20, runs - i) }, (_, j) => client.trigger("Add", { a: i + j, b: 1 })),
    )),
  );
}
const t1 = performance.now();
for (const run of triggered) await client.wait(run.runId);
const t2 = performance.now();
console.log(
  `${runs} runs, ${workers} workers x ${concurrency}: trigger ${(t1 - t0).toFixed(0)} ms (${(runs / ((t1 - t0) / 1000)).toFixed(0)}/s), all done after ${(t2 - t0).toFixed(0)} ms (${(runs / ((t2 - t0) / 1000)).toFixed(1)} runs/s)`,
);
await stack.stop();
