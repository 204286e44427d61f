/**
 * Batches at scale on the local stack (issue 10, M3 and M5):
 *
 *   npx tsx bench/batch.ts [children=10000] [workers=4]
 *
 * 1. A batch of `children` runs of a job that returns at once: creation time (trigger
 *    until every child exists), end to end (trigger until `waitBatch` returns), children
 *    per second, and write and read units per child from every component (client,
 *    workers, stream consumers), priced by AWS's rules (`CapacityRecorder`: transactions
 *    at 2 WU per KB per item), with a per-write breakdown.
 * 0. M1 at 1,000: `runBatch` of 1,000 children that end in random order returns every
 *    result in commit order, and `waitEach` on the same batch yields each child once.
 * 2. A batch of `children` runs of a job that waits for its signal, canceled once every
 *    child exists: the requests `cancelBatch` made, and how long until every child is
 *    Canceled.
 */
import { JobApp } from "../sdk/src/index.js";
import { perChildUnits } from "./support/batch-cost.js";
import { startBenchSystem } from "./support/bench-system.js";

const children = Number(process.argv[2] ?? 10_000);
const workers = Number(process.argv[3] ?? 4);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const app = new JobApp();
const processOrder = app.addJob("ProcessOrder", ({ orderId }: { orderId: number }) => ({
  orderId,
  ok: true,
}));
const randomDelay = app.addJob("RandomDelay", async ({ i }: { i: number }) => {
  await sleep(Math.floor(Math.random() * 50));
  return i;
});
const hang = app.addJob("Hang", (_: undefined, ctx) => {
  return new Promise<never>((_r, reject) =>
    ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason)),
  );
});

const system = await startBenchSystem({ app, workers, concurrency: 32, maintenance: false });
const client = system.client.client;
await client.runBatch(processOrder, [{ orderId: 0 }]); // warm up

// 0. Order at 1,000.
{
  const inputs = Array.from({ length: 1000 }, (_, i) => ({ i }));
  const handle = await client.triggerBatch(randomDelay, inputs, { deduplicationId: "order-1000" });
  const each: number[] = [];
  const eaching = (async () => {
    for await (const child of client.waitEach(handle.batchId)) each.push(child.batchOrdinal as number);
  })();
  const t = performance.now();
  const results = await client.runBatch(randomDelay, inputs, { deduplicationId: "order-1000" });
  await eaching;
  const inOrder = results.every((r, i) => r === i);
  const once = new Set(each).size === 1000 && each.length === 1000;
  const shuffled = each.some((o, i) => i > 0 && o < (each[i - 1] as number));
  console.log(
    `order: 1000 children in ${Math.round(performance.now() - t)} ms; results in commit order: ${inOrder}; waitEach each child once: ${once}; children ended out of order: ${shuffled}`,
  );
  if (!inOrder || !once) process.exitCode = 1;
}
system.capacity.reset();
system.requests.reset();

async function allCreated(batchId: string): Promise<void> {
  while ((await client.getBatch(batchId)).status === "Creating") await sleep(50);
}

// 1. Run a batch.
const inputs = Array.from({ length: children }, (_, orderId) => ({ orderId }));
const t0 = performance.now();
const batch = await client.triggerBatch(processOrder, inputs);
const triggered = performance.now();
await allCreated(batch.batchId);
const createdAt = performance.now();
const done = await client.waitBatch(batch.batchId);
const end = performance.now();
const cost = perChildUnits(system, children);
console.log(
  `run: ${children} children; triggerBatch ${Math.round(triggered - t0)} ms; all created ${Math.round(createdAt - t0)} ms; completed ${Math.round(end - t0)} ms (${Math.round(children / ((end - t0) / 1000))} children/s end to end); counts ${JSON.stringify(done.counts)}`,
);
console.log(
  `per child: ${cost.writeUnits} WU, ${cost.readUnits} RU; failed conditional writes ${cost.failed}`,
);
console.table(cost.rows);

// 2. Cancel a batch.
const hanging = await client.triggerBatch(
  hang,
  Array.from({ length: children }, () => undefined),
);
await allCreated(hanging.batchId);
system.requests.reset();
const c0 = performance.now();
await client.cancelBatch(hanging.batchId);
const cancelRequests = system.requests.table();
const returned = performance.now();
const canceled = await client.waitBatch(hanging.batchId);
const c1 = performance.now();
console.log(
  `cancel: ${children} children; cancelBatch ${Math.round(returned - c0)} ms with ${JSON.stringify(cancelRequests)}; every child terminal after ${Math.round(c1 - c0)} ms; counts ${JSON.stringify(canceled.counts)}`,
);
console.log(
  JSON.stringify({
    bench: "batch",
    children,
    createMs: Math.round(createdAt - t0),
    endToEndMs: Math.round(end - t0),
    wuPerChild: cost.writeUnits,
    ruPerChild: cost.readUnits,
    cancelMs: Math.round(c1 - c0),
  }),
);
await system.stop();
