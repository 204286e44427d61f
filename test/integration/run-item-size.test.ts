/**
 * Scope 1 of the v2 model: the run item stays small whatever the run carries. Arguments
 * and results over 512 bytes live in their own items, written once and read once; an
 * error's message and stack are capped on the run; recent logs come from log events.
 */

import { GetCommand } from "@aws-sdk/lib-dynamodb";
import { marshall } from "@aws-sdk/util-dynamodb";
import { afterEach, describe, expect, it } from "vitest";
import { JobApp } from "../../sdk/src/index.js";
import { itemSizeBytes } from "../../sdk/src/metrics/item-size.js";
import { payloadKey, runKey } from "../../sdk/src/store/keys.js";
import { startTestSystem, type TestSystem } from "../support/test-system.js";

let system: TestSystem | undefined;
afterEach(async () => {
  await system?.stop();
  system = undefined;
});

async function runItemBytes(s: TestSystem, runId: string): Promise<number> {
  const out = await s.store.doc.send(new GetCommand({ TableName: s.store.tableName, Key: runKey(runId) }));
  return itemSizeBytes(marshall(out.Item ?? {}, { removeUndefinedValues: true }));
}

describe("run item size", () => {
  it("keeps a 200 KB argument and result in their own items, and the run item under 1 KB", async () => {
    const app = new JobApp();
    const echo = app.addJob("Echo", ({ blob }: { blob: string }, ctx) => {
      ctx.logger.info(`got ${blob.length} characters`);
      return blob;
    });
    system = await startTestSystem({ app });
    const blob = "x".repeat(200 * 1024);
    const result = await system.client.run(echo, { blob });
    expect(result).toBe(blob);
    const [run] = await collect(system);
    expect(run?.args).toEqual({ blob });
    expect(await runItemBytes(system, run?.runId as string)).toBeLessThan(1024);
    for (const part of ["ARGS", "RESULT"] as const) {
      const out = await system.store.doc.send(
        new GetCommand({ TableName: system.store.tableName, Key: payloadKey(run?.runId as string, part) }),
      );
      expect(JSON.parse(out.Item?.json)).toEqual(part === "ARGS" ? { blob } : blob);
    }
    const snapshot = await system.client.getRun(run?.runId as string);
    expect(snapshot.recentLogs).toEqual([expect.stringMatching(/INFO got 204800 characters$/)]);
  });

  it("fails a result over the limit at once, non-retriable, naming the value and its size, with the handler run once", async () => {
    const app = new JobApp();
    let executions = 0;
    const big = app
      .addJob("Big", () => {
        executions++;
        return "z".repeat(300 * 1024);
      })
      .withRetry({ maxRetries: 2, initialDelay: "10ms" });
    system = await startTestSystem({ app });
    const run = await system.client.trigger(big);
    const done = await system.client.wait(run.runId);
    expect(done).toMatchObject({ status: "Failed", attempt: 1 });
    expect(done.error?.type).toBe("ValidationError");
    expect(done.error?.message).toBe("result: is 307202 bytes as JSON; the limit is 262144 bytes");
    expect(executions).toBe(1);
  });

  it("caps a 10 MB error message on the run, which stays under 2 KB", async () => {
    const app = new JobApp();
    const fail = app.addJob("Fail", () => {
      throw new Error(`upstream said: ${"y".repeat(10 * 1024 * 1024)}`);
    });
    system = await startTestSystem({ app });
    const run = await system.client.trigger(fail);
    const done = await system.client.wait(run.runId);
    expect(done.status).toBe("Failed");
    expect(done.error?.message.length).toBeLessThan(600);
    expect(done.error?.message).toMatch(/^upstream said: y+…\[truncated\]$/);
    expect(await runItemBytes(system, run.runId)).toBeLessThan(2048);
  });
});

async function collect(s: TestSystem) {
  const runs = [];
  for await (const run of s.client.getRuns({ jobName: "Echo" })) runs.push(await s.client.getRun(run.runId));
  return runs;
}
