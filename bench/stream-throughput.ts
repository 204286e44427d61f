/**
 * A streaming job yielding N small items on the local stack: end-to-end items per
 * second (trigger to last item received by a consumer) and the DynamoDB transactions
 * the run cost (B5: far fewer than one per item).
 *
 *   npx tsx bench/stream-throughput.ts [items=1000]
 */

import { startLocalStack } from "../local/stack.js";
import { JobApp } from "../sdk/src/index.js";
import { RequestCounter } from "../sdk/src/metrics/request-counter.js";

const items = Number(process.argv[2] ?? 1000);
const app = new JobApp();
const produce = app.addJob("Produce", async function* ({ n }: { n: number }) {
  for (let i = 0; i < n; i++) yield { i, payload: "x".repeat(32) };
});
const stack = await startLocalStack({ app, workers: 1, timerIntervalMs: 60_000 });
const counter = new RequestCounter();
counter.attach(stack.system.store.doc, "DynamoDB");
const { client } = stack.system;
for await (const _ of client.stream(produce, { n: 10 })) {
  // warm-up
}
counter.reset();

const t0 = performance.now();
let received = 0;
for await (const _ of client.stream(produce, { n: items })) received++;
const seconds = (performance.now() - t0) / 1000;
const counts = counter.table();
console.log(
  `${received} items in ${seconds.toFixed(2)} s: ${(received / seconds).toFixed(0)} items/s end to end`,
);
console.log(
  `TransactWriteItems for the run: ${counts["DynamoDB.TransactWriteItems"]} (create, claim, output flushes, completion)`,
);
console.log("all DynamoDB requests (consumer polls included):", counts);
await stack.stop();
