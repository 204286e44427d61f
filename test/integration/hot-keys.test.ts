/**
 * K2: no hot key. After each phase (200 runs of one job due later; the same runs
 * finished; 200 children of one parent run), no partition key value of any index, or of
 * the base table other than a run's own `RUN#<id>`, holds more than 1/8 of the items the
 * runs caused (table items plus index entries).
 */
import { ScanCommand } from "@aws-sdk/lib-dynamodb";
import { afterEach, describe, expect, it } from "vitest";
import { JobApp } from "../../sdk/src/index.js";
import { tableDefinition } from "../../sdk/src/store/table-definition.js";
import { useOwnDynamoDbLocal } from "../support/local-resources.js";
import { startTestSystem, type TestSystem } from "../support/test-system.js";

useOwnDynamoDbLocal();

let system: TestSystem | undefined;
afterEach(async () => {
  await system?.stop();
  system = undefined;
});

/** Items per partition key value, over the base table (keyed `pk`) and every index (keyed by its partition key). */
async function partitionCounts(s: TestSystem): Promise<{ total: number; largest: [string, number] }> {
  const counts = new Map<string, number>();
  let total = 0;
  const targets: { key: string; index?: string }[] = [
    { key: "pk" },
    ...tableDefinition.indexes.map((i) => ({ key: i.partitionKey, index: i.indexName })),
  ];
  for (const target of targets) {
    let startKey: Record<string, unknown> | undefined;
    do {
      const out = await s.store.doc.send(
        new ScanCommand({
          TableName: s.store.tableName,
          ...(target.index ? { IndexName: target.index } : {}),
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of out.Items ?? []) {
        const value = `${target.index ?? "table"}:${String(item[target.key])}`;
        total++;
        if (!target.index && String(item.pk).startsWith("RUN#")) continue;
        counts.set(value, (counts.get(value) ?? 0) + 1);
      }
      startKey = out.LastEvaluatedKey;
    } while (startKey);
  }
  const largest = [...counts].sort((a, b) => b[1] - a[1])[0] ?? ["none", 0];
  return { total, largest };
}

async function expectNoHotKey(s: TestSystem): Promise<void> {
  const { total, largest } = await partitionCounts(s);
  expect(total).toBeGreaterThanOrEqual(200);
  expect(largest[1], `${largest[0]} holds ${largest[1]} of ${total} items`).toBeLessThanOrEqual(total / 8);
}

describe("hot keys", () => {
  it("spreads 200 runs of one job and 200 children of one parent over partitions", {
    timeout: 180_000,
  }, async () => {
    const app = new JobApp();
    const add = app.addJob("Add", ({ a, b }: { a: number; b: number }) => a + b);
    const fanOut = app.addJob("FanOut", async ({ n }: { n: number }, ctx) => {
      const runs = await Promise.all(
        Array.from({ length: n }, (_, i) => ctx.client.trigger(add, { a: i, b: 1 })),
      );
      for (const run of runs) await ctx.client.wait(run.runId);
      return runs.length;
    });
    // A long lease: one process fans out 200 children while its workers run them, and a
    // starved event loop must not fence the parent (this test is about keys, not leases).
    system = await startTestSystem({ app, workers: 2, worker: { concurrency: 8, leaseMs: 15_000 } });

    // Phase 1: 200 runs of one job, due in an hour
    const later = new Date(Date.now() + 3_600_000);
    const runs = [];
    for (let i = 0; i < 200; i += 20) {
      runs.push(
        ...(await Promise.all(
          Array.from({ length: 20 }, (_, j) =>
            system?.client.trigger(add, { a: i + j, b: 1 }, { notBefore: later }),
          ),
        )),
      );
    }
    await expectNoHotKey(system);

    // Phase 2: the same runs, finished
    for (const run of runs) if (run) await system.client.cancel(run.runId);
    await expectNoHotKey(system);

    // Phase 3: 200 children of one parent
    expect(await system.client.run(fanOut, { n: 200 })).toBe(200);
    await expectNoHotKey(system);
  });
});
