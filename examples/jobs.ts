/**
 * The example jobs: the spec's examples ("Triggering and running") plus a few that
 * show retries, timeouts and cancellation. `npm start` serves them; `npm run demo`
 * calls them.
 */
import { z } from "zod";
import { abortableSleep } from "../sdk/src/client/abortable-sleep.js";
import { JobApp } from "../sdk/src/index.js";

export const app = new JobApp();

/** Resolves after `ms`; rejects with the signal's reason if it aborts first. */
const sleep = abortableSleep;

/** Adds two numbers; arguments checked by a zod schema at trigger time. */
export const add = app
  .addJob("Add", { args: z.object({ a: z.number(), b: z.number() }) }, ({ a, b }) => a + b)
  .withDescription("Adds two numbers");

/** Picks two random numbers and adds them with a child run of `Add`. */
export const addRandom = app
  .addJob("AddRandom", async (_args: undefined, ctx) => {
    const a = 1 + Math.floor(Math.random() * 100);
    const b = 1 + Math.floor(Math.random() * 100);
    const sum = await ctx.client.run(add, { a, b }, { signal: ctx.signal });
    return { a, b, sum };
  })
  .withDescription("Adds two random numbers through a child run");

/** Fire and forget: sweeps something, returns nothing. */
export const cleanup = app.addJob("Cleanup", async (_args: undefined, ctx) => {
  ctx.logger.info("sweeping temporary files");
  await sleep(300, ctx.signal);
  ctx.reportProgress(1);
});

/** A report meant to run later (triggered with `notBefore`). */
export const report = app.addJob("Report", (_args: undefined, ctx) => ({
  runId: ctx.runId,
  startedAt: new Date().toISOString(),
}));

/** Urgent work, triggered with a high priority. */
export const urgent = app.addJob("Urgent", () => new Date().toISOString());

/** Filler work for a backlog: takes `ms` milliseconds. */
export const backlogItem = app.addJob("BacklogItem", async ({ ms }: { ms: number }, ctx) => {
  await sleep(ms, ctx.signal);
  return new Date().toISOString();
});

/** An import deduplicated per day with `deduplicationId`. */
export const importJob = app.addJob("Import", async ({ date }: { date: string }, ctx) => {
  ctx.logger.info(`importing ${date}`);
  await sleep(1000, ctx.signal);
  return { date, rows: 42 };
});

/** A report only worth running before its deadline (`notAfter`). */
export const timelyReport = app.addJob("TimelyReport", () => "on time");

/** Fails its first two attempts, then succeeds: shows the retry policy. */
export const flaky = app
  .addJob("Flaky", (_args: undefined, ctx) => {
    if (ctx.attempt < 3) throw new Error(`transient failure on attempt ${ctx.attempt}`);
    return { succeededOnAttempt: ctx.attempt };
  })
  .withRetry({ maxRetries: 3, backoff: "exponential", initialDelay: "200ms", maxDelay: "2s" });

/** Runs past its 500 ms timeout on every attempt. */
export const slow = app
  .addJob("Slow", async (_args: undefined, ctx) => {
    await sleep(5_000, ctx.signal);
  })
  .withTimeout("500ms")
  .withRetry({ maxRetries: 1, initialDelay: "100ms" });

/** Works until canceled (honours its signal). */
export const longChild = app.addJob("LongChild", async (_args: undefined, ctx) => {
  for (let i = 0; ; i++) {
    ctx.reportProgress(Math.min(0.99, i / 1000));
    await sleep(100, ctx.signal);
  }
});

/** Starts a `LongChild` and waits for it: canceling the parent cancels the child. */
export const longParent = app.addJob("LongParent", async (_args: undefined, ctx) => {
  await ctx.client.run(longChild, undefined, { signal: ctx.signal });
});

/** A streaming job: yields orders one by one as it "loads" them. */
export const streamOrders = app.addJob("StreamOrders", async function* ({ count }: { count: number }, ctx) {
  for (let id = 1; id <= count; id++) {
    await sleep(100, ctx.signal);
    yield { id, total: id * 10 };
  }
});

/** Pipeline stage 1: yields 1..count. */
export const generateNumbers = app.addJob("GenerateNumbers", async function* ({ count }: { count: number }) {
  for (let i = 1; i <= count; i++) yield i;
});

/** Pipeline stage 2: doubles each number of a streamed argument as it arrives. */
export const doubleNumbers = app.addJob(
  "DoubleNumbers",
  async function* ({ values }: { values: AsyncIterable<number> }) {
    for await (const value of values) yield value * 2;
  },
);

/** Pipeline: GenerateNumbers → DoubleNumbers → sum, each stage its own run. */
export const sumNumbers = app.addJob("SumNumbers", async ({ count }: { count: number }, ctx) => {
  const numbers = ctx.client.stream(generateNumbers, { count });
  const doubled = ctx.client.stream(doubleNumbers, { values: numbers });
  let sum = 0;
  for await (const value of doubled) sum += value;
  return sum;
});

/** Reports progress and writes log lines while it "imports" rows. */
export const importData = app.addJob("ImportData", async ({ rows }: { rows: number }, ctx) => {
  for (let row = 1; row <= rows; row++) {
    await sleep(50, ctx.signal);
    ctx.reportProgress(row / rows);
    if (row % 5 === 0) ctx.logger.info(`imported ${row}/${rows} rows`);
  }
  return { imported: rows };
});

/** Processes one order (the spec's batch example); an order id below 0 fails. */
export const processOrder = app.addJob("ProcessOrder", async ({ orderId }: { orderId: number }, ctx) => {
  await sleep(100 + Math.floor(Math.random() * 200), ctx.signal);
  if (orderId < 0) throw new Error(`order ${orderId} does not exist`);
  return { orderId, status: "processed", total: orderId * 3 };
});

/** Emails the receipt of an order (the spec's mixed batch example). */
export const emailReceipt = app.addJob("EmailReceipt", async ({ orderId }: { orderId: number }, ctx) => {
  await sleep(50, ctx.signal);
  return { orderId, emailed: true };
});
