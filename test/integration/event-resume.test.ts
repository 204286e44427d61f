import { afterEach, describe, expect, it } from "vitest";
import { JobApp, type RunEvent, type RunEventBody } from "../../sdk/src/index.js";
import { startTestSystem, type TestSystem } from "../support/test-system.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let system: TestSystem | undefined;
afterEach(async () => {
  await system?.stop();
  system = undefined;
});

describe("event log resume", () => {
  it("resumes from event k with k+1 onward, no gap and no duplicate, over 1,000 events racing a cancel", {
    timeout: 180_000,
  }, async () => {
    // Arrange: a worker writing its own events while the test appends 1,000 more and then cancels
    const app = new JobApp();
    const busy = app.addJob("Busy", async function* (_: undefined, ctx) {
      for (let i = 0; !ctx.signal.aborted; i++) {
        if (i % 10 === 0) ctx.logger.info(`tick ${i}`);
        yield i;
        await sleep(200);
      }
    });
    system = await startTestSystem({ app, worker: { flushMs: 200 } });
    const run = await system.client.trigger(busy);
    const appending = (async () => {
      for (let batch = 0; batch < 100; batch++) {
        const events: RunEventBody[] = Array.from({ length: 20 }, (_, i) => ({
          type: "input",
          name: "args.noise",
          items: [batch * 20 + i],
        }));
        if (!(await system?.store.appendEvents(run.runId, events))) return batch;
      }
      return 100;
    })();
    const canceling = (async () => {
      while (((await system?.store.get(run.runId))?.eventSeq ?? 0) < 1000) await sleep(20);
      await system?.client.cancel(run.runId);
    })();
    await Promise.all([appending, canceling]);
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
    const inputItems = [...head, ...tail].flatMap((e) => (e.type === "input" ? e.items : []));
    expect(inputItems.length).toBeGreaterThan(0);
  });
});
