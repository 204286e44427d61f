import { JobApp } from "../sdk/src/index.js";
import { startBenchSystem } from "./support/bench-system.js";

const loops = 16;
const app = new JobApp();
const add = app.addJob("Add", ({ a, b }: { a: number; b: number }) => a + b);
const system = await startBenchSystem({ app, workers: 2, concurrency: 8 });
async function measureSystem(ms: number) {
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
  return { runs, rps: runs / ((performance.now() - started) / 1000) };
}
await measureSystem(15000);
system.requests.reset();
const r = await measureSystem(8000);
console.log(r.rps, JSON.stringify(system.requests.table(r.runs), null, 1));
await system.stop();
