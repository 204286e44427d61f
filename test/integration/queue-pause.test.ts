/**
 * N5, pause and resume: no run of a paused queue starts (its runs wait, holding no
 * message, `waitingFor: "queue paused"`); running ones finish; resume starts the backlog
 * in claim order.
 */
import { afterEach, describe, expect, it } from "vitest";
import { JobApp, QueueNotFoundError } from "../../sdk/src/index.js";
import { startTestSystem, type TestSystem } from "../support/test-system.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let system: TestSystem | undefined;
afterEach(async () => {
  await system?.stop();
  system = undefined;
});

describe("N5: queue pause", () => {
  it("starts nothing while paused, lets the running run finish, and resumes the backlog in claim order", async () => {
    const app = new JobApp();
    app.addQueue("q", { maxConcurrency: 1 });
    let release: () => void = () => undefined;
    const blocker = new Promise<void>((resolve) => {
      release = resolve;
    });
    const job = app
      .addJob("Paused", async ({ block }: { block: boolean }) => (block ? blocker : undefined))
      .withQueue("q");
    const other = app.addJob("Elsewhere", () => "ran");
    system = await startTestSystem({ app, workers: 2, worker: { concurrency: 4 } });
    const s = system;
    const running = await s.client.trigger(job, { block: true });
    for (let i = 0; i < 100 && (await s.client.getRun(running.runId)).status !== "Running"; i++)
      await sleep(50);
    await s.client.pauseQueue("q");
    const backlog = [];
    for (const priority of [0, 5, -1, 10, 0, 5])
      backlog.push(await s.client.trigger(job, { block: false }, { priority }));
    release();
    expect((await s.client.wait(running.runId)).status).toBe("Succeeded");
    // Other queues are not paused.
    expect(await s.client.run(other)).toBe("ran");
    await sleep(1500);
    const waiting = await Promise.all(backlog.map((r) => s.client.getRun(r.runId)));
    expect(waiting.map((r) => r.status)).toEqual(backlog.map(() => "Pending"));
    expect(waiting.every((r) => r.attempt === 0 && r.waitingFor === "queue paused")).toBe(true);
    expect((await s.client.getQueues()).find((q) => q.name === "q")).toMatchObject({
      paused: true,
      waiting: 6,
    });
    await s.client.resumeQueue("q");
    const done = await Promise.all(backlog.map((r) => s.client.wait(r.runId)));
    const order = [...done].sort((a, b) => Date.parse(a.startedAt ?? "") - Date.parse(b.startedAt ?? ""));
    const expected = [...backlog].sort(
      (a, b) =>
        b.priority - a.priority ||
        Date.parse(a.createdAt) - Date.parse(b.createdAt) ||
        (a.runId < b.runId ? -1 : 1),
    );
    expect(order.map((r) => r.runId)).toEqual(expected.map((r) => r.runId));
    expect((await s.client.getQueues()).find((q) => q.name === "q")).toMatchObject({
      paused: false,
      waiting: 0,
    });
  }, 60_000);

  it("refuses to pause or resume a queue nobody registered, and writes no record for it", async () => {
    const app = new JobApp();
    app.addQueue("q");
    system = await startTestSystem({ app, workers: 0, streams: false });
    await expect(system.client.pauseQueue("qq")).rejects.toThrow(QueueNotFoundError);
    await expect(system.client.resumeQueue("nosuch")).rejects.toMatchObject({
      name: "QueueNotFoundError",
      queue: "nosuch",
    });
    expect((await system.client.getQueues()).map((q) => q.name).sort()).toEqual(["default", "q"]);
  });
});
