/**
 * Run counts by status per job and per queue: kept by the projections consumer from the
 * table's stream (never by the transitions themselves), exact, and not counted twice when
 * a batch is handed over again.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { StreamRecords } from "../../sdk/src/dispatch/wake-ups.js";
import { JobApp } from "../../sdk/src/index.js";
import { createRunCountsHandler } from "../../sdk/src/projections/run-counts.js";
import { startTestSystem, type TestSystem } from "../support/test-system.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let system: TestSystem | undefined;
afterEach(async () => {
  await system?.stop();
  system = undefined;
});

async function eventually<T>(read: () => Promise<T>, expected: T): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const value = await read();
    if (JSON.stringify(value) === JSON.stringify(expected)) return;
    await sleep(100);
  }
  expect(await read()).toEqual(expected);
}

describe("run counts", () => {
  it("counts runs by status per job and per queue as they move", { timeout: 60_000 }, async () => {
    const app = new JobApp();
    const add = app.addJob("Add", ({ a, b }: { a: number; b: number }) => a + b);
    const fail = app.addJob("Fail", () => {
      throw new Error("no");
    });
    system = await startTestSystem({ app });
    const client = system.client;
    for (let i = 0; i < 3; i++) await client.run(add, { a: i, b: 1 });
    await client.wait((await client.trigger(fail)).runId);
    const later = await client.trigger(add, { a: 0, b: 0 }, { notBefore: new Date(Date.now() + 3_600_000) });
    await client.trigger(add, { a: 0, b: 0 }, { notBefore: new Date(Date.now() + 3_600_000) });
    await client.cancel(later.runId);

    await eventually(() => client.getRunCounts({ jobName: "Add" }), {
      Pending: 1,
      Running: 0,
      Succeeded: 3,
      Canceled: 1,
      Failed: 0,
    });
    await eventually(() => client.getRunCounts({ queue: "default" }), {
      Pending: 1,
      Running: 0,
      Succeeded: 3,
      Canceled: 1,
      Failed: 1,
    });
    await expect(client.getRunCounts({})).rejects.toThrow(/exactly one of jobName and queue/);
  });

  it("applies a batch handed over twice once", async () => {
    const app = new JobApp();
    system = await startTestSystem({ app, workers: 0, streams: false, timer: false });
    const run = (status: string) => ({
      kind: { S: "run" },
      jobName: { S: "Twice" },
      queue: { S: "q" },
      status: { S: status },
    });
    const event = {
      Records: [
        { eventName: "INSERT", dynamodb: { SequenceNumber: "100", NewImage: run("Pending") } },
        {
          eventName: "MODIFY",
          dynamodb: { SequenceNumber: "101", OldImage: run("Pending"), NewImage: run("Running") },
        },
      ],
    } as unknown as StreamRecords;
    const handle = createRunCountsHandler(system.store);
    await handle(event);
    await handle(event);
    expect(await system.client.getRunCounts({ jobName: "Twice" })).toEqual({
      Pending: 0,
      Running: 1,
      Succeeded: 0,
      Canceled: 0,
      Failed: 0,
    });
  });
});
