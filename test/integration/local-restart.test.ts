/**
 * K3 across a restart: the local stack dies between a run's write and its send, and is
 * started again on the same data (`--persist`). The SQS emulator kept nothing, so the
 * restart re-sends the wake-ups of Pending runs, and the stream consumers resume from
 * their stored positions; the run starts with no maintenance pass needed. A run whose
 * worker died with the stack (a hard stop) is recovered after the restart like any run
 * whose holder is gone.
 */
import { spawn } from "node:child_process";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { startLocalStack } from "../../local/stack.js";
import { JobApp } from "../../sdk/src/jobs/job-app.js";

function runDyingStack(
  dataDir: string,
  dieAt: "send" | "running" = "send",
): Promise<{ code: number | null; runId: string }> {
  const child = spawn(process.execPath, ["--import", "tsx", "test/support/dying-stack.ts"], {
    env: { ...process.env, DATA_DIR: dataDir, DIE_AT: dieAt },
    stdio: ["ignore", "pipe", "inherit"],
  });
  let out = "";
  child.stdout.on("data", (chunk) => {
    out += String(chunk);
  });
  return new Promise((resolve) =>
    child.on("exit", (code) => resolve({ code, runId: out.trim().split("\n").pop() ?? "" })),
  );
}

describe("local stack restart", () => {
  it("starts a run whose stack died between its write and its send, after a restart on the same data", {
    timeout: 120_000,
  }, async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "sluice-restart-"));
    try {
      // Arrange: the first stack writes the run and dies before sending
      const first = await runDyingStack(dataDir);
      expect(first.code).toBe(1);
      expect(first.runId).toMatch(/^[0-9A-Z]{26}$/);
      expect((await readdir(dataDir)).some((f) => f.startsWith("stream-"))).toBe(true);

      // Act: start again on the same data, with a worker and a timer that never fires a maintenance pass
      const app = new JobApp();
      app.addJob("Add", ({ a, b }: { a: number; b: number }) => a + b);
      const stack = await startLocalStack({ app, dataDir, workers: 1, timerIntervalMs: 600_000 });
      try {
        const done = await stack.system.client.wait(first.runId);
        // Assert
        expect(done).toMatchObject({ status: "Succeeded", result: 42, attempt: 1 });
      } finally {
        await stack.stop();
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it("recovers a run left Running by a stack that died (kill -9), after a restart on the same data", {
    timeout: 120_000,
  }, async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "sluice-hard-stop-"));
    try {
      // Arrange: the first stack dies while the run's handler runs, its lease message lost with the SQS emulator
      const first = await runDyingStack(dataDir, "running");
      expect(first.code).toBe(1);
      const app = new JobApp();
      app.addJob("KillsItsWorker", (_: undefined, ctx) => `attempt ${ctx.attempt}`).withRetry(1);
      // Act: start again on the same data, with a timer that never fires a maintenance pass
      const stack = await startLocalStack({
        app,
        dataDir,
        workers: 1,
        leaseMs: 2_000,
        timerIntervalMs: 600_000,
      });
      try {
        const done = await stack.system.client.wait(first.runId);
        // Assert: the dead attempt failed (lease expired) and the retry ran here
        expect(done).toMatchObject({ status: "Succeeded", result: "attempt 2", attempt: 2 });
        const events = [];
        for await (const e of stack.system.store.events(first.runId)) events.push(e);
        expect(events).toContainEqual(
          expect.objectContaining({ type: "status", status: "Pending", reason: "lease expired" }),
        );
      } finally {
        await stack.stop();
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it("L4: hands a running 60 s run back when the stack stops, and completes it after a restart on the same data", {
    timeout: 120_000,
  }, async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "sluice-handback-"));
    try {
      // Arrange: no retries, so a failed attempt would end the run for good
      const app = new JobApp();
      let executions = 0;
      const sixty = app.addJob("Sixty", async (_: undefined, ctx) => {
        executions++;
        if (ctx.attempt > 1) return "done";
        await new Promise((resolve, reject) => {
          const timer = setTimeout(resolve, 60_000);
          ctx.signal.addEventListener("abort", () => {
            clearTimeout(timer);
            reject(ctx.signal.reason);
          });
        });
      });
      const first = await startLocalStack({ app, dataDir, workers: 1 });
      const run = await first.system.client.trigger(sixty);
      for (let i = 0; i < 100 && executions === 0; i++) await new Promise((r) => setTimeout(r, 50));
      // Act: what Ctrl-C on `npm start` does
      await first.stop();
      const second = await startLocalStack({ app, dataDir, workers: 1 });
      try {
        const handedBack = (await second.system.client.getRun(run.runId)) ?? undefined;
        const done = await second.system.client.wait(run.runId);
        // Assert
        expect(handedBack.error).toBeUndefined();
        expect(done).toMatchObject({ status: "Succeeded", result: "done", attempt: 2, handBacks: 1 });
        expect(executions).toBe(2);
        const events = [];
        for await (const e of second.system.store.events(run.runId)) events.push(e);
        expect(events).toContainEqual(
          expect.objectContaining({
            type: "status",
            status: "Pending",
            reason: "handed back by a stopping worker",
          }),
        );
      } finally {
        await second.stop();
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
