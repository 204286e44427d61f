/**
 * What one run costs, measured: write and read units from every DynamoDB call any
 * component makes (client, worker, stream consumers, maintenance), SQS requests, and the
 * dollar figure per million runs on AWS at 1 and at 10 messages per receive and per
 * invocation.
 *
 *   npx tsx bench/cost.ts
 *
 * DynamoDB units come from `ReturnConsumedCapacity: "INDEXES"` on single-item calls;
 * transactions are recomputed from item sizes (2 WU per started KB per item), and failed
 * conditional writes are added by count, because DynamoDB Local under-reports both
 * (`sdk/src/metrics/capacity-rules.ts`). Two costs are not per run and are printed apart:
 * maintenance (a pass a minute) and the run counts projection (one transaction per
 * batching window and job, shared by every run that changed in the window: 60 s in the
 * construct, 10 s here). The per-run columns are the client's and the workers' writes
 * (the stream dispatch consumer writes only to cancel children, which no case here
 * does); `WU +counts@10/s` adds the projection's share at 10 runs per second of one job.
 *
 * SQS and Lambda on AWS, per wake-up: the writer's own send (1 request), the stream
 * consumer's copy (1 per batch of k), the event source mapping's receive and delete (1
 * per batch of k each). Lambda: one worker invocation per k messages (1024 MB, for the
 * measured duration of a run), and one stream invocation per k records (256 MB, 20 ms).
 * Prices: `bench/support/prices.ts`.
 *
 * Then a batch of 500 `Add` children: write and read units per child from every
 * component, stream consumers included, with a per-write breakdown (`bench/batch.ts`
 * measures the same at 10,000).
 *
 * Last, runs under one job limit (`withMaxConcurrency`), from every component with a
 * per-write breakdown (target <= 10 WU): 100 awaited one at a time (each finds a free
 * slot: claim and completion become two-item transactions, 2 WU per item), and 40
 * triggered at once under a limit of 2 (most wait: a waiter item, a wake with its slot
 * reservation, the stream's wake-up of the freed slot). Then 100 runs awaited one at a time
 * under a sliding rate limit (each finds a permit: the claim's transaction adds one to the
 * window's counter, and the first claim of each window closes the previous one), and the
 * same two cases for sharded limits: a job limit of 150 (2 slot shards) and a sliding rate
 * limit of 2000 per 1 s (10 window counter shards), whose claims read every shard.
 */
import { JobApp } from "../sdk/src/index.js";
import { perChildUnits } from "./support/batch-cost.js";
import { type BenchSystem, startBenchSystem } from "./support/bench-system.js";
import { functionMemoryGb, prices } from "./support/prices.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const projectionsWindowMs = 10_000;

const app = new JobApp();
/** A job that adds two numbers (`Add`, and copies under limits of their own). */
const addAs = (name: string) => app.addJob(name, ({ a, b }: { a: number; b: number }) => a + b);
const add = addAs("Add");
const logLines = app.addJob("LogLines", async (_: undefined, ctx) => {
  // 100 lines of 100 bytes over 10 s: what an import job typically prints.
  for (let i = 0; i < 100; i++) {
    const line = `processed order ${10_000 + i * 37} for customer ${(i * 7919) % 1000}: ${i % 7} items, total ${(i * 3.7).toFixed(2)} EUR, status ok`;
    ctx.logger.info(line.padEnd(100, ".").slice(0, 100));
    await sleep(100);
  }
});
const sleep60 = app.addJob("Sleep60", async (_: undefined, ctx) => {
  await sleep(60_000);
  return ctx.attempt;
});
const flaky = app
  .addJob("FailOnce", (_: undefined, ctx) => {
    if (ctx.attempt === 1) throw new Error("transient");
    return "ok";
  })
  .withRetry({ maxRetries: 1, initialDelay: "10ms" });
const measure = app.addJob("Measure", ({ blob }: { blob: string }) => blob.length);
const withChild = app.addJob("WithChild", (_: undefined, ctx) => ctx.client.run(add, { a: 1, b: 2 }));
const limitedAdd = addAs("LimitedAdd").withMaxConcurrency(2);
app.addRateLimit("api", { kind: "sliding", limit: 100, window: "1s" });
const rateLimitedAdd = addAs("RateLimitedAdd").withRateLimit("api");
// Sharded limits (domain/limit-shards.ts): 2 slot shards, 10 window counter shards.
const wideLimitedAdd = addAs("WideLimitedAdd").withMaxConcurrency(150);
app.addRateLimit("wide", { kind: "sliding", limit: 2000, window: "1s" });
const wideRateLimitedAdd = addAs("WideRateLimitedAdd").withRateLimit("wide");

interface CaseResult {
  readonly runs: number;
  readonly wakeUps: number;
  readonly streamRecords: number;
  readonly durationMs: number;
}

interface Case {
  readonly name: string;
  readonly run: (system: BenchSystem) => Promise<CaseResult>;
}

/** `n` runs of `job`, `concurrent` at a time, each awaited; returns the mean run duration. */
async function runMany(
  system: BenchSystem,
  n: number,
  concurrent: number,
  start: () => Promise<unknown>,
): Promise<number[]> {
  const durations: number[] = [];
  for (let i = 0; i < n; i += concurrent) {
    const batch = Array.from({ length: Math.min(concurrent, n - i) }, async () => {
      const run = (await start()) as { runId: string };
      const done = await system.client.client.wait(run.runId);
      durations.push(Date.parse(done.completedAt ?? "") - Date.parse(done.startedAt ?? ""));
      if (done.status !== "Succeeded") throw new Error(`run ${done.runId} ended ${done.status}`);
    });
    await Promise.all(batch);
  }
  return durations;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
const client = (s: BenchSystem) => s.client.client;

const cases: Case[] = [
  {
    name: "simple",
    run: async (s) => {
      const d = await runMany(s, 100, 1, () => client(s).trigger(add, { a: 1, b: 2 }));
      return { runs: 100, wakeUps: 100, streamRecords: 300, durationMs: mean(d) };
    },
  },
  {
    name: "logs100x100B",
    run: async (s) => {
      const d = await runMany(s, 2, 2, () => client(s).trigger(logLines));
      return { runs: 2, wakeUps: 2, streamRecords: 2 * 6, durationMs: mean(d) };
    },
  },
  {
    name: "run60sAlone",
    run: async (s) => {
      const d = await runMany(s, 1, 1, () => client(s).trigger(sleep60));
      return { runs: 1, wakeUps: 1, streamRecords: 3, durationMs: mean(d) };
    },
  },
  {
    name: "run60sOneOf8",
    run: async (s) => {
      const d = await runMany(s, 8, 8, () => client(s).trigger(sleep60));
      return { runs: 8, wakeUps: 8, streamRecords: 24, durationMs: mean(d) };
    },
  },
  {
    name: "retried",
    run: async (s) => {
      const d = await runMany(s, 10, 1, () => client(s).trigger(flaky));
      return { runs: 10, wakeUps: 20, streamRecords: 10 * 7, durationMs: mean(d) };
    },
  },
  {
    // Per pair: the parent and the child it awaits.
    name: "parentAndChild",
    run: async (s) => {
      const d = await runMany(s, 20, 1, () => client(s).trigger(withChild));
      return { runs: 20, wakeUps: 40, streamRecords: 20 * 6, durationMs: mean(d) };
    },
  },
  {
    name: "arg200KB",
    run: async (s) => {
      const blob = "x".repeat(200 * 1024);
      const d = await runMany(s, 10, 1, () => client(s).trigger(measure, { blob }));
      return { runs: 10, wakeUps: 10, streamRecords: 30, durationMs: mean(d) };
    },
  },
];

/** Dollars per million runs of a case at `k` messages per receive and invocation. */
function usdPerMillion(writeUnits: number, readUnits: number, result: CaseResult, k: number) {
  const perRun = (x: number) => x / result.runs;
  const wakeUps = perRun(result.wakeUps);
  const sqsRequests = wakeUps * (1 + 3 / k);
  const workerGbSeconds = (functionMemoryGb.worker * (result.durationMs + 10)) / 1000 / k;
  const streamInvocations = perRun(result.streamRecords) / k;
  const usd =
    writeUnits * prices.dynamoDbWriteUnit +
    readUnits * prices.dynamoDbReadUnit +
    sqsRequests * prices.sqsFifoRequest +
    (wakeUps / k) * prices.lambdaRequest +
    workerGbSeconds * prices.lambdaGbSecond +
    streamInvocations * (prices.lambdaRequest + functionMemoryGb.stream * 0.02 * prices.lambdaGbSecond);
  return { usd: usd * 1e6, sqsRequests };
}

const round = (x: number, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits;

const system = await startBenchSystem({
  app,
  workers: 1,
  concurrency: 8,
  projectionsIntervalMs: projectionsWindowMs,
});
await client(system).run(add, { a: 0, b: 0 }); // warm up
await sleep(projectionsWindowMs + 1000);
const table: Record<string, Record<string, number | string>> = {};
const perRun: Record<string, Record<string, number>> = {};
for (const c of cases) {
  system.capacity.reset();
  system.requests.reset();
  const result = await c.run(system);
  await sleep(projectionsWindowMs + 1000); // the projections consumer's window, and the last deletes
  const totals = system.capacity.totals();
  const byComponent = totals.byComponent;
  const wu = (name: string) => (byComponent[name]?.writeUnits ?? 0) / result.runs;
  const ru = (name: string) => (byComponent[name]?.readUnits ?? 0) / result.runs;
  const readUnits = totals.total.readUnits / result.runs - ru("maintenance");
  const runWrites = wu("client") + wu("worker");
  const windows = system.requests.counts.get("stream.DynamoDB.TransactWriteItems") ?? 0;
  const unitsPerWindow = windows > 0 ? (byComponent.stream?.writeUnits ?? 0) / windows : 0;
  const countsShare = unitsPerWindow / (10 * 60);
  const writesNoMaintenance = runWrites + countsShare;
  const measuredSqs = Object.entries(system.requests.table(result.runs))
    .filter(([key]) => key.includes(".SQS."))
    .reduce((sum, [, n]) => sum + n, 0);
  const at1 = usdPerMillion(writesNoMaintenance, readUnits, result, 1);
  const at10 = usdPerMillion(writesNoMaintenance, readUnits, result, 10);
  table[c.name] = {
    "WU client": round(wu("client")),
    "WU worker": round(wu("worker")),
    "WU run": round(runWrites),
    "WU counts/window": round(unitsPerWindow),
    "WU +counts@10/s": round(writesNoMaintenance, 3),
    "RU total": round(readUnits),
    "failed cond.": round((totals.total.failedConditionalWrites ?? 0) / result.runs),
    "SQS local": round(measuredSqs),
    "SQS k=1": round(at1.sqsRequests),
    "SQS k=10": round(at10.sqsRequests),
    "$/M k=1": round(at1.usd),
    "$/M k=10": round(at10.usd),
    "run ms": round(result.durationMs, 0),
  };
  perRun[c.name] = {
    writeUnits: round(runWrites),
    writeUnitsWithCounts: round(writesNoMaintenance, 3),
    readUnits: round(readUnits),
    sqsRequests: round(at10.sqsRequests),
    usdPerMillion: round(at10.usd),
    usdPerMillionAt1: round(at1.usd),
  };
}
// A batch: per child, every component's writes (the stream dispatch consumer creates the
// children and keeps the batch's counters and events; the projections its run counts).
system.capacity.reset();
system.requests.reset();
const batchChildren = 500;
const batch = await client(system).triggerBatch(
  add,
  Array.from({ length: batchChildren }, (_, a) => ({ a, b: 1 })),
);
await client(system).waitBatch(batch.batchId);
await sleep(projectionsWindowMs + 1000);
const batchCost = perChildUnits(system, batchChildren);
// Runs under one job limit: free slots, then contended.
const limitedCost = async (job: typeof limitedAdd, n: number, concurrent: number) => {
  system.capacity.reset();
  system.requests.reset();
  await runMany(system, n, concurrent, () => client(system).trigger(job, { a: 1, b: 2 }));
  await sleep(projectionsWindowMs + 1000);
  return perChildUnits(system, n);
};
const limitedFree = await limitedCost(limitedAdd, 100, 1);
const limitedContended = await limitedCost(limitedAdd, 40, 40);
const rateLimited = await limitedCost(rateLimitedAdd, 100, 1);
const wideLimited = await limitedCost(wideLimitedAdd, 100, 1);
const wideRateLimited = await limitedCost(wideRateLimitedAdd, 100, 1);
// Maintenance: one pass, as the schedule runs it every minute (a fixed cost, not per run).
system.capacity.reset();
system.requests.reset();
const { runMaintenance } = await import("../sdk/src/maintenance/maintenance.js");
await runMaintenance({ store: system.client.store, dispatcher: system.client.dispatcher, app });
const pass = system.capacity.totals().total;
const passSqs = Object.entries(system.requests.table())
  .filter(([key]) => key.includes(".SQS."))
  .reduce((sum, [, n]) => sum + n, 0);
await system.stop();

console.log("Per run (DynamoDB units from every component; $ per million runs on AWS, us-east-1):");
console.table(table);
const monthly = (pass.readUnits * prices.dynamoDbReadUnit + passSqs * prices.sqsFifoRequest) * 60 * 24 * 30;
console.log(
  `maintenance pass (every minute, fixed): ${round(pass.writeUnits)} WU, ${round(pass.readUnits)} RU, ${passSqs} SQS requests: $${round(monthly, 3)} a month plus its invocations`,
);
console.log(
  `batch of ${batchChildren} Add children, per child (every component; target <= 6 WU): ${batchCost.writeUnits} WU, ${batchCost.readUnits} RU`,
);
console.table(batchCost.rows);
for (const [label, cost] of [
  ["run under one job limit, slot free", limitedFree],
  ["run under one job limit of 2, 40 triggered at once (most wait)", limitedContended],
  ["run under a sliding rate limit of 100 per 1 s, permit free", rateLimited],
  ["run under one job limit of 150 (2 shards), slot free", wideLimited],
  ["run under a sliding rate limit of 2000 per 1 s (10 shards), permit free", wideRateLimited],
] as const) {
  console.log(
    `${label}, per run (every component; target <= 10 WU): ${cost.writeUnits} WU, ${cost.readUnits} RU`,
  );
  console.table(cost.rows);
}
console.log(
  JSON.stringify({
    bench: "cost",
    perRun,
    batchPerChild: { writeUnits: batchCost.writeUnits, readUnits: batchCost.readUnits },
    jobLimited: { writeUnits: limitedFree.writeUnits, readUnits: limitedFree.readUnits },
    jobLimitedContended: { writeUnits: limitedContended.writeUnits, readUnits: limitedContended.readUnits },
    rateLimited: { writeUnits: rateLimited.writeUnits, readUnits: rateLimited.readUnits },
    jobLimitedSharded: { writeUnits: wideLimited.writeUnits, readUnits: wideLimited.readUnits },
    rateLimitedSharded: { writeUnits: wideRateLimited.writeUnits, readUnits: wideRateLimited.readUnits },
    maintenancePass: { writeUnits: pass.writeUnits, readUnits: pass.readUnits, sqsRequests: passSqs },
  }),
);
