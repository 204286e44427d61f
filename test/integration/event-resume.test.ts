import { afterEach, describe, expect, it } from "vitest";
import { JobApp, type RunEvent } from "../../sdk/src/index.js";
import { useOwnDynamoDbLocal } from "../support/local-resources.js";
import { startTestSystem, type TestSystem } from "../support/test-system.js";

useOwnDynamoDbLocal();

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let system: TestSystem | undefined;
afterEach(async () => {
  await system?.stop();
  system = undefined;
});

/** An endless source of numbers, a few at a time. */
async function* noise(): AsyncIterable<number> {
  for (let i = 0; ; i++) {
    yield i;
    if (i % 10 === 9) await sleep(1);
  }
}

describe("event log resume", () => {
  it("resumes from event k with k+1 onward, no gap and no duplicate, over 1,000 events of a pipeline racing a cancel", {
    timeout: 180_000,
  }, async () => {
    // Arrange: a pipeline consumer writing output, logs and input records as fast as it
    // can while its producer appends input, and a cancel racing both
    const app = new JobApp();
    const busy = app.addJob("Busy", async function* ({ noise }: { noise: AsyncIterable<number> }, ctx) {
      const input = noise[Symbol.asyncIterator]();
      for (let i = 0; !ctx.signal.aborted; i++) {
        const next = await input.next();
        if (next.done) return;
        if (i % 10 === 0) ctx.logger.info(`tick ${i}`);
        yield next.value;
        await sleep(1);
      }
    });
    system = await startTestSystem({ app, worker: { flushMs: 5, outputDelayMs: 1 } });
    const run = await system.client.trigger(busy, { noise: noise() });
    while (((await system?.store.lastEventId(run.runId)) ?? 0) < 1000) await sleep(20);
    await system.client.cancel(run.runId);
    await system.client.wait(run.runId);

    // Act: read to k, stop, resume from k
    const k = 500;
    const head: RunEvent[] = [];
    for await (const e of system.client.observeRunEvents(run.runId)) {
      head.push(e);
      if (e.eventId === k) break;
    }
    const tail: RunEvent[] = [];
    for await (const e of system.client.observeRunEvents(run.runId, { sinceEventId: k })) tail.push(e);

    // Assert
    const ids = [...head, ...tail].map((e) => e.eventId);
    expect(ids.length).toBeGreaterThanOrEqual(1000);
    expect(ids).toEqual(ids.map((_, i) => i + 1));
    expect(tail[0]?.eventId).toBe(k + 1);
    expect(tail.at(-1)).toMatchObject({ type: "status", status: "Canceled" });
    const all = [...head, ...tail];
    const inputItems = all.flatMap((e) => (e.type === "input" ? e.items : []));
    const outputItems = all.flatMap((e) => (e.type === "output" ? e.items : []));
    expect(inputItems.length).toBeGreaterThan(0);
    // What the handler yielded is what it consumed, in order.
    expect(outputItems).toEqual(inputItems.slice(0, outputItems.length));
  });
});
