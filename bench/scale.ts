/**
 * Scale: trigger→start of `run("Add")` and one maintenance pass, on an empty table and
 * again with 100,000 waiting runs (Pending, due in an hour: on AWS their wake-ups are
 * messages held in flight, invisible to receivers), measured in the same run. The
 * figures should not move with the backlog: nothing scans Pending runs.
 *
 *   npx tsx bench/scale.ts [waiting=100000] [runs=50]
 */
import { BatchWriteCommand } from "@aws-sdk/lib-dynamodb";
import { JobApp } from "../sdk/src/index.js";
import { runMaintenance } from "../sdk/src/maintenance/maintenance.js";
import { newRunItem } from "../sdk/src/store/run-factory.js";
import { startBenchSystem } from "./support/bench-system.js";
import { percentile } from "./support/stats.js";

const [waiting = 100_000, runs = 50] = process.argv.slice(2).map(Number);
const app = new JobApp();
const add = app.addJob("Add", ({ a, b }: { a: number; b: number }) => a + b);
const system = await startBenchSystem({ app, workers: 1, maintenance: false });
const { client, store, dispatcher } = system.client;

async function measure(label: string) {
  const toStart: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = Date.now();
    const run = await client.trigger(add, { a: i, b: 1 });
    const done = await client.wait(run.runId);
    toStart.push(Date.parse(done.startedAt ?? "") - t0);
  }
  // One maintenance pass, five times (the median): the client component's clients make it.
  const passes: { ms: number; requests: number }[] = [];
  for (let i = 0; i < 5; i++) {
    system.requests.reset();
    const p0 = performance.now();
    await runMaintenance({ store, dispatcher, app });
    const ms = performance.now() - p0;
    const requests = [...system.requests.counts]
      .filter(([key]) => key.startsWith("client."))
      .reduce((sum, [, n]) => sum + n, 0);
    passes.push({ ms, requests });
  }
  const passMs =
    Math.round(
      percentile(
        passes.map((p) => p.ms),
        0.5,
      ) * 10,
    ) / 10;
  const passRequests = percentile(
    passes.map((p) => p.requests),
    0.5,
  );
  return { label, toStartP50: percentile(toStart, 0.5), passMs, passRequests };
}

await measure("warm-up");
const empty = await measure("empty table");
const now = Date.now();
const t0 = performance.now();
for (let i = 0; i < waiting; i += 25 * 16) {
  await Promise.all(
    Array.from({ length: 16 }, async (_, c) => {
      const items = Array.from({ length: 25 }, (_, j) => i + c * 25 + j)
        .filter((n) => n < waiting)
        .map((n) =>
          newRunItem(
            {
              runId: `01WAIT${String(n).padStart(10, "0")}`,
              jobName: "Add",
              argsJson: `{"a":${n},"b":1}`,
              priority: 0,
              queue: "default",
              rootRunId: `01WAIT${String(n).padStart(10, "0")}`,
              createdMs: now,
              notBeforeMs: now + 3_600_000,
              enqueueCount: 1,
            },
            false,
          ),
        );
      let requests = items.map((Item) => ({ PutRequest: { Item } }));
      while (requests.length > 0) {
        const out = await store.doc.send(
          new BatchWriteCommand({ RequestItems: { [store.tableName]: requests } }),
        );
        requests = (out.UnprocessedItems?.[store.tableName] ?? []) as typeof requests;
      }
    }),
  );
}
const writeSeconds = (performance.now() - t0) / 1000;
const loaded = await measure(`${waiting} waiting runs`);
await system.stop();

console.log(`wrote ${waiting} waiting runs in ${writeSeconds.toFixed(1)} s`);
console.table([empty, loaded]);
const change = (a: number, b: number) => Math.round(((b - a) / a) * 1000) / 10;
console.log(
  JSON.stringify({
    bench: "scale",
    waiting,
    toStartP50Ms: {
      empty: empty.toStartP50,
      loaded: loaded.toStartP50,
      changePercent: change(empty.toStartP50, loaded.toStartP50),
    },
    maintenancePassMs: {
      empty: empty.passMs,
      loaded: loaded.passMs,
      changePercent: change(empty.passMs, loaded.passMs),
    },
    maintenancePassRequests: { empty: empty.passRequests, loaded: loaded.passRequests },
  }),
);
