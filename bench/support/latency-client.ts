/**
 * The latency bench's client, in its own process: connects from the environment
 * (`connectFromEnvironment`, as a Lambda or container would), runs `Add` `RUNS` times in
 * sequence, and prints one JSON line: trigger→start and trigger→result per run, in ms.
 */
import { connectFromEnvironment } from "../../sdk/src/config/environment.js";

const runs = Number(process.env.RUNS ?? 100);
const { client } = connectFromEnvironment();
const toStart: number[] = [];
const toResult: number[] = [];
const toComplete: number[] = [];
for (let i = 0; i < runs + 5; i++) {
  const t0 = Date.now();
  const p0 = performance.now();
  const run = await client.trigger("Add", { a: i, b: 1 });
  const done = await client.wait(run.runId);
  const elapsed = performance.now() - p0;
  if (done.status !== "Succeeded") throw new Error(`run ${run.runId} ended ${done.status}`);
  if (i < 5) continue; // warm-up: connections, JIT
  toResult.push(elapsed);
  toStart.push(Date.parse(done.startedAt ?? "") - t0);
  toComplete.push(Date.parse(done.completedAt ?? "") - t0);
}
process.stdout.write(`${JSON.stringify({ toStart, toComplete, toResult })}\n`);
