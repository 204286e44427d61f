/**
 * Trigger-to-start and trigger-to-result latency of `Add` on the local stack, and the
 * AWS requests one `run("Add")` costs.
 *
 *   npx tsx bench/latency.ts [runs=100]
 */
import { app } from "../examples/jobs.js";
import { startLocalStack } from "../local/stack.js";
import { RequestCounter } from "../sdk/src/metrics/request-counter.js";

const runs = Number(process.argv[2] ?? 100);
const stack = await startLocalStack({ app, workers: 1, concurrency: 4, timerIntervalMs: 60_000 });
const counter = new RequestCounter();
counter.attach(stack.system.store.doc as never, "DynamoDB");
counter.attach(stack.system.dispatcher.sqs, "SQS");
const { client } = stack.system;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
};
const p95 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.95)] ?? Number.NaN;

// Warm up connections and JIT.
for (let i = 0; i < 5; i++) await client.run("Add", { a: i, b: i });
counter.reset();

const toStart: number[] = [];
const toResult: number[] = [];
const began = performance.now();
for (let i = 0; i < runs; i++) {
  const t0 = Date.now();
  const p0 = performance.now();
  const run = await client.trigger("Add", { a: i, b: 1 });
  const done = await client.wait(run.runId);
  toResult.push(performance.now() - p0);
  toStart.push(Date.parse(done.startedAt ?? "") - t0);
}
const elapsed = performance.now() - began;
await new Promise((r) => setTimeout(r, 1500)); // let the workers' deletes land in the counts
console.log(`runs: ${runs} sequential run("Add") on the local stack (1 worker)`);
console.log(`trigger→start  median ${median(toStart).toFixed(0)} ms, p95 ${p95(toStart).toFixed(0)} ms`);
console.log(`trigger→result median ${median(toResult).toFixed(1)} ms, p95 ${p95(toResult).toFixed(1)} ms`);
console.log(`throughput ${(runs / (elapsed / 1000)).toFixed(1)} runs/s sequential`);
console.log("requests per run (client + worker; idle receives on empty lanes included):");
console.table(counter.table(runs));
await stack.stop();
