/**
 * N2, never leaks: limited runs (job limit 3, key limit 2 per tenant, queue limit 4)
 * executed by child worker processes that are SIGKILLed at random. At the end every run
 * is terminal, every slot and waiter item is gone, and no attempt's handler ran twice
 * (each start a worker printed names a distinct attempt of its run, and the attempt that
 * succeeded started once). A worker killed between its claim and its handler's first
 * line leaves an attempt with no start, so starts ≤ attempts.
 *
 * CI size: `LIMITS_N2_RUNS` (default 40) runs, `LIMITS_N2_KILLS` (default 4) kills; the
 * issue's bench size is `LIMITS_N2_RUNS=500 LIMITS_N2_KILLS=50`.
 */
import { ScanCommand } from "@aws-sdk/lib-dynamodb";
import { afterEach, describe, expect, it } from "vitest";
import { isTerminal } from "../../sdk/src/index.js";
import { limitedApp } from "../support/limited-worker-process.js";
import { spawnChild } from "../support/spawn-child.js";
import { startTestSystem, type TestSystem } from "../support/test-system.js";

const runs = Number(process.env.LIMITS_N2_RUNS ?? 40);
const kills = Number(process.env.LIMITS_N2_KILLS ?? 4);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let system: TestSystem | undefined;
afterEach(async () => {
  await system?.stop();
  system = undefined;
});

describe("N2: limits under worker crashes", () => {
  it(`${runs} limited runs, ${kills} SIGKILLs: all terminal, no slot or waiter left, no attempt ran twice`, async () => {
    const app = limitedApp(async () => undefined);
    // No maintenance passes: its limits janitor would free a leaked slot and hide the leak.
    system = await startTestSystem({ app, workers: 0, timer: false, worker: { leaseMs: 3_000 } });
    const s = system;
    const starts: string[] = [];
    const children = new Set<ReturnType<typeof spawnChild>>();
    const spawn = () => {
      const child = spawnChild("limited-worker-process.ts", s.resources, { stdout: "pipe" });
      let buffer = "";
      child.stdout?.on("data", (chunk) => {
        buffer += String(chunk);
        const lines = buffer.split("\n");
        buffer = lines.pop() ?? "";
        for (const line of lines) if (line.startsWith("start ")) starts.push(line.slice(6));
      });
      children.add(child);
      child.once("exit", () => children.delete(child));
    };
    for (let i = 0; i < 3; i++) spawn();
    try {
      const job = app.getJob("Limited");
      if (!job) throw new Error("no job");
      const triggered = await Promise.all(
        Array.from({ length: runs }, (_, i) => s.client.trigger("Limited", { tenant: `t${i % 5}` })),
      );
      for (let k = 0; k < kills; k++) {
        await sleep(500 + Math.random() * 1000);
        const victims = [...children];
        const victim = victims[Math.floor(Math.random() * victims.length)];
        victim?.kill("SIGKILL");
        spawn();
      }
      const done = await Promise.all(triggered.map((r) => s.client.wait(r.runId)));
      expect(done.every((r) => isTerminal(r.status))).toBe(true);
      expect(done.filter((r) => r.status !== "Succeeded").map((r) => r.error)).toEqual([]);
      // Leaks: no slot and no waiter item left anywhere.
      await sleep(500);
      const scan = await s.store.doc.send(new ScanCommand({ TableName: s.store.tableName }));
      const leftovers = (scan.Items ?? []).filter((i) => String(i.pk).startsWith("LIMIT#"));
      expect(leftovers).toEqual([]);
      // Once per recorded attempt.
      expect(new Set(starts).size).toBe(starts.length);
      for (const run of done) {
        const attempts = starts
          .filter((line) => line.startsWith(`${run.runId} `))
          .map((l) => Number(l.split(" ")[1]));
        expect(attempts.filter((a) => a === run.attempt)).toHaveLength(1);
        expect(Math.max(...attempts)).toBe(run.attempt);
      }
      console.log(
        `N2: ${runs} runs, ${kills} kills, ${done.reduce((n, r) => n + r.attempt, 0) - runs} extra attempts`,
      );
    } finally {
      for (const child of children) child.kill("SIGKILL");
    }
  }, 300_000);
});
