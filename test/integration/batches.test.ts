/**
 * Batches (issue 10) end to end on the local emulators: creation, order and failure
 * rules of each consumption style, counts, cancel, resume of the event log.
 */
import { afterEach, describe, expect, it } from "vitest";
import { JobApp, JobRunError } from "../../sdk/src/index.js";
import { startTestSystem, type TestSystem } from "../support/test-system.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let system: TestSystem | undefined;
afterEach(async () => {
  await system?.stop();
  system = undefined;
});

function jobs() {
  const app = new JobApp();
  const processOrder = app.addJob(
    "ProcessOrder",
    async ({ orderId, ms }: { orderId: number; ms?: number }) => {
      if (ms) await sleep(ms);
      if (orderId < 0) throw new Error(`order ${orderId} is invalid`);
      return { orderId, processed: true };
    },
  );
  const emailReceipt = app.addJob("EmailReceipt", ({ orderId }: { orderId: number }) => `receipt ${orderId}`);
  return { app, processOrder, emailReceipt };
}

describe("batches", () => {
  it("runs a one-job batch and a mixed batch, results in commit order", async () => {
    const { app, processOrder } = jobs();
    system = await startTestSystem({ app });
    const results = await system.client.runBatch(processOrder, [
      { orderId: 101 },
      { orderId: 102 },
      { orderId: 103 },
    ]);
    expect(results.map((r) => r.orderId)).toEqual([101, 102, 103]);
    const mixed = await system.client.runBatch([
      { job: "ProcessOrder", args: { orderId: 101 } },
      { job: "EmailReceipt", args: { orderId: 101 } },
    ]);
    expect(mixed).toEqual([{ orderId: 101, processed: true }, "receipt 101"]);
  });
});
