/**
 * `npm run demo`: starts the local stack in this process (DynamoDB Local, the fauxqs
 * SQS emulator, 2 polling workers with 2 slots each, the local timer, the local
 * WebSocket API), walks through the spec's "Triggering and running" examples, then
 * streaming, a pipeline, observing a run's events live and resuming them, and batches
 * (runBatch of one job and of two, streamBatch with a failing child, cancelBatch), checks
 * every outcome, and stops the stack. Exits 0 when every expectation held, 1 otherwise.
 */

import "../local/quiet-sdk-notice.js";
import { setMaxListeners } from "node:events";
import { startLocalStack } from "../local/stack.js";
import {
  JobClient,
  type JobRun,
  JobRunError,
  RunConflictError,
  type RunEvent,
  type RunFilter,
} from "../sdk/src/index.js";
import {
  add,
  addRandom,
  app,
  backlogItem,
  cleanup,
  emailReceipt,
  flaky,
  importData,
  importJob,
  longChild,
  longParent,
  processOrder,
  report,
  slow,
  streamOrders,
  sumNumbers,
  timelyReport,
  urgent,
} from "./jobs.js";

const workers = 2;
const concurrency = 2;
const slots = workers * concurrency;
/** Longest any one scenario may wait on the system before it counts as failed. */
const scenarioTimeoutMs = 20_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const ms = (iso: string | undefined) => (iso === undefined ? Number.NaN : Date.parse(iso));

/** Compact JSON: `{a:1,b:2}`. */
function show(value: unknown): string {
  if (value === undefined) return "(nothing)";
  return JSON.stringify(value).replace(/"([A-Za-z_$][\w$]*)":/g, "$1:");
}

/** `run 01J… Succeeded in 12 ms (attempt 1)`: time from trigger to completion. */
function runLine(run: JobRun): string {
  const took = run.completedAt ? ` in ${ms(run.completedAt) - ms(run.createdAt)} ms` : "";
  return `run ${run.runId} ${run.status}${took} (attempt ${run.attempt})`;
}

const failures: string[] = [];
let scenarioFailures: string[] = [];

/** Records an expectation; a false one fails the demo (after the other scenarios ran). */
function check(ok: boolean, what: string): void {
  if (ok) return;
  scenarioFailures.push(what);
  console.log(`  ✗ expected ${what}`);
}

async function scenario(title: string, body: (signal: AbortSignal) => Promise<void>): Promise<void> {
  console.log(`\n${title}`);
  scenarioFailures = [];
  const started = Date.now();
  try {
    const signal = AbortSignal.timeout(scenarioTimeoutMs);
    // One scenario waits on up to 11 runs at once with its signal: more listeners than
    // Node's default warning threshold (10), none of them leaked.
    setMaxListeners(32, signal);
    await body(signal);
  } catch (error) {
    scenarioFailures.push(
      `no error, got ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`,
    );
    console.log(`  ✗ ${scenarioFailures.at(-1)}`);
  }
  const took = Date.now() - started;
  if (scenarioFailures.length === 0) console.log(`  ✓ ok (${took} ms)`);
  else failures.push(...scenarioFailures.map((f) => `${title}: expected ${f}`));
}

async function collect(client: JobClient, filter: RunFilter): Promise<JobRun[]> {
  const runs: JobRun[] = [];
  for await (const run of client.getRuns(filter)) runs.push(run);
  return runs;
}

/** Polls `probe` every 25 ms until it returns a value; throws once `signal` aborts. */
async function poll<T>(probe: () => Promise<T | undefined>, signal: AbortSignal): Promise<T> {
  for (;;) {
    signal.throwIfAborted();
    const value = await probe();
    if (value !== undefined) return value;
    await sleep(25);
  }
}

/** JSON with object keys sorted, at every depth: equal values give equal strings. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

/** `[██████░░░░░░░░░░░░░░]  30%` */
function progressBar(progress: number, width = 20): string {
  const filled = Math.round(progress * width);
  return `[${"█".repeat(filled)}${"░".repeat(width - filled)}] ${String(Math.round(progress * 100)).padStart(3)}%`;
}

/** One event on one line: `#3 progress [███░░…]  15%`. */
function eventLine(event: RunEvent): string {
  const head = `#${event.eventId}`.padEnd(4);
  switch (event.type) {
    case "status":
      return `${head} status → ${event.status}${event.reason ? ` [${event.reason}]` : ""}`;
    case "progress":
      return `${head} progress ${progressBar(event.progress)}`;
    case "log":
      return `${head} log ${event.lines.map((l) => `${l.level.toUpperCase()} ${l.message}`).join(" | ")}`;
    default:
      return `${head} ${event.type}`;
  }
}

/** Whether `ids` are `from, from+1, …` with no gap and no repeat. */
function consecutive(ids: readonly number[], from: number): boolean {
  return ids.every((id, i) => id === from + i);
}

/** The newest top-level run of a job (the one `client.run` just made; `run` returns only the result). */
async function latestRun(client: JobClient, jobName: string, signal: AbortSignal): Promise<JobRun> {
  return poll(
    async () => (await collect(client, { jobName })).find((r) => r.parentRunId === undefined),
    signal,
  );
}

console.log(`starting the local stack (${workers} workers × ${concurrency} slots)...`);
const bootStarted = Date.now();
const stack = await startLocalStack({ app, workers, concurrency }).catch((error: unknown) => {
  console.error("demo FAILED: the local stack did not start (is Java 17+ on the PATH?):", error);
  process.exit(1);
});
const { client } = stack.system;
console.log(
  `up in ${Date.now() - bootStarted} ms: DynamoDB Local ${stack.dynamoDbEndpoint}, SQS ${stack.sqsEndpoint}, WebSocket ${stack.webSocket.url}`,
);
/** A second client that observes runs through the local WebSocket API (`client` polls DynamoDB). */
const socketClient = new JobClient({
  store: stack.system.store,
  dispatcher: stack.system.dispatcher,
  app,
  webSocket: stack.webSocket,
});

let addRunId: string | undefined;
/** The ImportData run of scenario 14 and the events seen, for scenario 15. */
let imported: { runId: string; events: RunEvent[] } | undefined;

try {
  await scenario("1. run: trigger and wait for the result", async (signal) => {
    const sum = await client.run(add, { a: 1, b: 2 }, { signal });
    console.log(`  Add ${show({ a: 1, b: 2 })} → ${show(sum)}`);
    check(sum === 3, "the result 3");
    const run = await latestRun(client, add.name, signal);
    addRunId = run.runId;
    console.log(`  ${runLine(run)}`);
    check(run.status === "Succeeded", "status Succeeded");
  });

  await scenario("2. a job that runs a child job (AddRandom → Add)", async (signal) => {
    const result = await client.run(addRandom, undefined, { signal });
    console.log(`  AddRandom → ${show(result)}`);
    check(result.a + result.b === result.sum, "sum = a + b");
    const parent = await latestRun(client, addRandom.name, signal);
    console.log(`  ${runLine(parent)}`);
    const [child] = await poll(async () => {
      const children = await collect(client, { parentRunId: parent.runId });
      return children.length > 0 ? children : undefined;
    }, signal);
    if (!child) return;
    console.log(`  └ child: ${child.jobName} ${show(child.args)} → ${show(child.result)}`);
    console.log(`    ${runLine(child)}, parentRunId ${child.parentRunId}`);
    check(child.parentRunId === parent.runId, "the child's parentRunId to be the parent's run id");
    check(child.rootRunId === parent.runId, "the child's rootRunId to be the parent's run id");
    check(child.result === result.sum, "the child's result to be the sum");
  });

  await scenario("3. trigger: fire and forget, wait later", async (signal) => {
    const run = await client.trigger(cleanup);
    console.log(`  trigger(Cleanup) → run ${run.runId} ${run.status} (returned at once)`);
    check(run.status === "Pending", "trigger to return a Pending run");
    const done = await client.wait(run.runId, { signal });
    console.log(`  wait → ${runLine(done)}, logs ${show(done.recentLogs)}`);
    check(done.status === "Succeeded", "status Succeeded");
  });

  await scenario("4. schedule for later: notBefore = now + 3 s", async (signal) => {
    const notBefore = new Date(Date.now() + 3_000);
    const run = await client.trigger(report, undefined, { notBefore });
    console.log(`  trigger(Report, notBefore ${notBefore.toISOString()}) → run ${run.runId} ${run.status}`);
    const done = await client.wait(run.runId, { signal });
    console.log(`  ${runLine(done)}`);
    console.log(`  notBefore ${done.notBefore}`);
    console.log(
      `  startedAt ${done.startedAt} (${ms(done.startedAt) - notBefore.getTime()} ms after notBefore)`,
    );
    check(done.status === "Succeeded", "status Succeeded");
    check(ms(done.startedAt) >= notBefore.getTime(), "startedAt ≥ notBefore");
  });

  // 10 backlog runs on 4 slots: 4 start at once and 6 wait; Urgent should overtake the waiting ones.
  await scenario("5. priority: Urgent (priority 10) overtakes a backlog", async (signal) => {
    const backlogSize = 10;
    const backlog = await Promise.all(
      Array.from({ length: backlogSize }, () => client.trigger(backlogItem, { ms: 400 }, { priority: 0 })),
    );
    const statuses = async () => Promise.all(backlog.map(async (r) => (await client.getRun(r.runId)).status));
    // Wait until every slot holds a backlog run and others still wait: from then on,
    // Urgent can only be claimed when a slot frees, ahead of the waiting runs.
    await poll(async () => {
      const now = await statuses();
      const running = now.filter((s) => s === "Running").length;
      return running === slots && now.includes("Pending") ? true : undefined;
    }, signal);
    console.log(
      `  trigger(BacklogItem {ms:400}, priority 0) ×${backlogSize}: ${slots} fill the slots, the rest wait`,
    );
    const urgentRun = await client.trigger(urgent, undefined, { priority: 10 });
    const waiting = (await statuses()).filter((s) => s === "Pending").length;
    console.log(
      `  trigger(Urgent, priority 10) → run ${urgentRun.runId}; ${waiting} backlog runs still waiting`,
    );
    const runs = await Promise.all([...backlog, urgentRun].map((r) => client.wait(r.runId, { signal })));
    const order = [...runs].sort((x, y) => ms(x.startedAt) - ms(y.startedAt));
    const label = (r: JobRun) =>
      r.runId === urgentRun.runId ? "URGENT" : `b${backlog.findIndex((b) => b.runId === r.runId) + 1}`;
    const position = order.findIndex((r) => r.runId === urgentRun.runId) + 1;
    const overtaken = order.length - position;
    console.log(`  start order: ${order.map(label).join(" ")}`);
    console.log(
      `  Urgent started ${position} of ${order.length}, ahead of ${overtaken} of the ${backlogSize} earlier runs`,
    );
    check(
      runs.every((r) => r.status === "Succeeded"),
      "every run Succeeded",
    );
    // A worker may already have received a backlog message when Urgent's arrived (one
    // per worker at most in practice), so that many waiting runs may still go first.
    check(
      overtaken >= 1 && overtaken >= waiting - workers,
      `Urgent to overtake the backlog runs still waiting (at least ${Math.max(1, waiting - workers)} of ${waiting})`,
    );
  });

  await scenario("6. deduplication: one active Import per day", async (signal) => {
    const date = new Date().toISOString().slice(0, 10);
    const deduplicationId = `import-${date}`;
    const first = await client.trigger(importJob, { date }, { deduplicationId });
    console.log(
      `  trigger(Import ${show({ date })}, deduplicationId "${deduplicationId}") → run ${first.runId} ${first.status}`,
    );
    const conflict = await client.trigger(importJob, { date }, { deduplicationId }).catch((e: unknown) => e);
    if (conflict instanceof RunConflictError) {
      console.log(`  trigger again → ${conflict.name}, existingRunId ${conflict.existingRunId}`);
      check(conflict.existingRunId === first.runId, "existingRunId to be the first run");
    } else {
      check(false, `RunConflictError, got ${conflict instanceof Error ? conflict.name : show(conflict)}`);
    }
    const done = await client.wait(first.runId, { signal });
    console.log(`  wait(first) → ${runLine(done)}, result ${show(done.result)}`);
    const again = await client.trigger(importJob, { date }, { deduplicationId });
    console.log(`  trigger again after it finished → run ${again.runId} ${again.status} (the id was freed)`);
    const againDone = await client.wait(again.runId, { signal });
    console.log(`  wait(second) → ${runLine(againDone)}`);
    check(again.runId !== first.runId, "a new run");
    check(againDone.status === "Succeeded", "the second run Succeeded");
  });

  await scenario(
    "7. notAfter: a TimelyReport that cannot start before its deadline is canceled",
    async (signal) => {
      // How we make sure it cannot start: fill every worker slot with a 2.5 s BacklogItem,
      // wait until all of them are Running, then trigger TimelyReport with notAfter = now + 1 s.
      // No slot frees before ~2.5 s, so no worker even receives its message before the
      // deadline; the local timer's sweep (every 250 ms) then expires it. This does not
      // depend on timing between notBefore and notAfter (a 1 ms window after notBefore
      // could, rarely, still be hit by a claim).
      const fillers: JobRun[] = [];
      for (let i = 0; i < slots; i++) fillers.push(await client.trigger(backlogItem, { ms: 2_500 }));
      await poll(async () => {
        const runs = await Promise.all(fillers.map((r) => client.getRun(r.runId)));
        return runs.every((r) => r.status === "Running") ? true : undefined;
      }, signal);
      console.log(`  ${slots} BacklogItem {ms:2500} runs hold all ${slots} slots`);
      const notAfter = new Date(Date.now() + 1_000);
      const run = await client.trigger(timelyReport, undefined, { notAfter });
      console.log(
        `  trigger(TimelyReport, notAfter ${notAfter.toISOString()}) → run ${run.runId} ${run.status}`,
      );
      const done = await client.wait(run.runId, { signal });
      console.log(`  ${runLine(done)}`);
      console.log(`  cancelReason: ${done.cancelReason}`);
      check(done.status === "Canceled", "status Canceled");
      check(done.cancelReason?.includes("notAfter") === true, "a cancelReason mentioning notAfter");
      check(done.attempt === 0 && done.startedAt === undefined, "the run never started (attempt 0)");
      await Promise.all(fillers.map((r) => client.wait(r.runId, { signal })));
    },
  );

  await scenario(
    "8. retries: Flaky fails twice, then succeeds (maxRetries 3, exponential backoff)",
    async (signal) => {
      const result = await client.run(flaky, undefined, { signal });
      console.log(`  Flaky → ${show(result)}`);
      const run = await latestRun(client, flaky.name, signal);
      console.log(`  ${runLine(run)}`);
      for await (const event of stack.system.store.events(run.runId)) {
        const body = event;
        if (body.type !== "status") continue;
        const detail = body.error ? `: ${body.error.type}: ${body.error.message}` : "";
        const retry = body.retryAt ? ` (retry at ${body.retryAt})` : "";
        console.log(
          `    #${event.eventId} attempt ${event.attempt} → ${body.status}${body.reason ? ` [${body.reason}]` : ""}${detail}${retry}`,
        );
      }
      check(result.succeededOnAttempt === 3, "success on attempt 3");
      check(run.status === "Succeeded" && run.attempt === 3, "status Succeeded with attempt 3");
    },
  );

  await scenario("9. timeout: Slow (timeout 500 ms, 1 retry) times out on both attempts", async (signal) => {
    const error = await client.run(slow, undefined, { signal }).then(
      () => undefined,
      (e: unknown) => e,
    );
    if (!(error instanceof JobRunError)) {
      check(
        false,
        `JobRunError, got ${error instanceof Error ? `${error.name}: ${error.message}` : "a result"}`,
      );
      return;
    }
    console.log(`  Slow → ${error.name}: ${error.message}`);
    console.log(`  ${runLine(error.run)}, error type ${error.run.error?.type}`);
    check(error.status === "Failed", "status Failed");
    check(error.run.error?.type === "JobTimeoutError", "error type JobTimeoutError");
    check(error.run.attempt === 2, "attempt 2");
  });

  await scenario("10. cancel: canceling LongParent cancels its running LongChild", async (signal) => {
    const parent = await client.trigger(longParent);
    console.log(`  trigger(LongParent) → run ${parent.runId}`);
    const child = await poll(
      async () => (await collect(client, { parentRunId: parent.runId, status: "Running" }))[0],
      signal,
    );
    console.log(`  its child ${child.jobName} run ${child.runId} is ${child.status}`);
    const outcome = await client.cancel(parent.runId);
    console.log(`  cancel(${parent.runId}) → ${show(outcome)}`);
    const [p, c] = await Promise.all([
      client.wait(parent.runId, { signal }),
      client.wait(child.runId, { signal }),
    ]);
    console.log(`  parent ${runLine(p)}: ${p.cancelReason}`);
    console.log(`  child  ${runLine(c)}: ${c.cancelReason}`);
    check(outcome.canceled && p.status === "Canceled", "the parent Canceled");
    check(c.status === "Canceled", "the child Canceled");
    // The handlers learn of the cancel at their next lease renewal (heartbeat, 2 s here).
    const cancelAt = Date.now();
    await poll(async () => (stack.workers.every((w) => w.activeCount === 0) ? true : undefined), signal);
    console.log(`  both handlers saw their signal abort and stopped within ${Date.now() - cancelAt} ms`);
  });

  await scenario("11. rerun: a new run of the finished Add run, same arguments", async (signal) => {
    if (addRunId === undefined) {
      check(false, "the Add run from scenario 1");
      return;
    }
    const rerun = await client.rerun(addRunId);
    console.log(
      `  rerun(${addRunId}) → run ${rerun.runId}, rerunOfRunId ${rerun.rerunOfRunId}, args ${show(rerun.args)}`,
    );
    const result = await client.waitResult(rerun.runId, { signal });
    const done = await client.getRun(rerun.runId);
    console.log(`  waitResult → ${show(result)}; ${runLine(done)}`);
    check(rerun.rerunOfRunId === addRunId, "rerunOfRunId to name the original run");
    check(show(rerun.args) === show({ a: 1, b: 2 }), "the same arguments {a:1,b:2}");
    check(result === 3, "the result 3");
  });

  await scenario("12. stream: StreamOrders yields orders while it still runs", async (signal) => {
    console.log("  path: polling DynamoDB (the stack's client has no webSocket options)");
    const triggeredAt = Date.now();
    const arrivals: { order: { id: number; total: number }; at: number }[] = [];
    console.log(`  for await (const order of client.stream(StreamOrders, ${show({ count: 5 })})):`);
    for await (const order of client.stream(streamOrders, { count: 5 }, { signal })) {
      const at = Date.now();
      arrivals.push({ order, at });
      console.log(`    +${String(at - triggeredAt).padStart(4)} ms  order ${show(order)}`);
    }
    const run = await latestRun(client, streamOrders.name, signal);
    const completedAt = ms(run.completedAt);
    console.log(`  ${runLine(run)}; completedAt +${completedAt - triggeredAt} ms`);
    const first = arrivals[0];
    check(
      show(arrivals.map((a) => a.order)) === show([1, 2, 3, 4, 5].map((id) => ({ id, total: id * 10 }))),
      "orders 1..5 in order, total = id × 10",
    );
    check(run.status === "Succeeded", "status Succeeded");
    if (!first) return;
    const lead = completedAt - first.at;
    console.log(
      `  order 1 arrived ${lead} ms before the run completed (the producer sleeps 100 ms per order)`,
    );
    check(lead >= 100, "order 1 to arrive well before the run completed (at least 100 ms)");
  });

  await scenario("13. pipeline: SumNumbers = sum of DoubleNumbers(GenerateNumbers 1..10)", async (signal) => {
    const sum = await client.run(sumNumbers, { count: 10 }, { signal });
    console.log(`  SumNumbers ${show({ count: 10 })} → ${show(sum)}`);
    check(sum === 110, "the result 110 (2 × (1 + … + 10))");
    const parent = await latestRun(client, sumNumbers.name, signal);
    console.log(`  ${runLine(parent)}`);
    // Children come from a secondary index (eventually consistent): wait until both show, finished.
    const children = await poll(async () => {
      const found = await collect(client, { parentRunId: parent.runId });
      return found.length >= 2 && found.every((r) => r.completedAt !== undefined) ? found : undefined;
    }, signal);
    children.sort((x, y) => ms(x.createdAt) - ms(y.createdAt));
    for (const child of children) {
      console.log(
        `  └ child: ${child.jobName} ${show(child.args)} → ${child.status}, parentRunId ${child.parentRunId}`,
      );
    }
    check(
      show(children.map((c) => c.jobName).sort()) === show(["DoubleNumbers", "GenerateNumbers"]),
      "two children, GenerateNumbers and DoubleNumbers",
    );
    check(
      children.every((c) => c.parentRunId === parent.runId),
      "each child's parentRunId to be the SumNumbers run",
    );
    check(
      children.every((c) => c.status === "Succeeded"),
      "both children Succeeded",
    );
  });

  await scenario(
    "14. observe: ImportData {rows:20} progress and logs, live over the WebSocket API",
    async (signal) => {
      console.log(`  path: WebSocket API ${stack.webSocket.url} (a second JobClient with webSocket options)`);
      // Workers write buffered progress and log lines about once a second (items of a
      // streaming job within 50 ms), so a 1 s import shows one or two batches of them.
      console.log("  (the worker writes progress and logs in batches, about once a second)");
      const triggeredAt = Date.now();
      const run = await client.trigger(importData, { rows: 20 });
      console.log(`  trigger(ImportData ${show({ rows: 20 })}) → run ${run.runId}`);
      console.log(`  for await (const e of socketClient.observeRunEvents("${run.runId}")):`);
      const events: RunEvent[] = [];
      for await (const event of socketClient.observeRunEvents(run.runId, { signal })) {
        events.push(event);
        console.log(`    +${String(Date.now() - triggeredAt).padStart(4)} ms  ${eventLine(event)}`);
      }
      imported = { runId: run.runId, events };
      const done = await client.getRun(run.runId);
      console.log(`  ${runLine(done)}, result ${show(done.result)}`);
      console.log(`  progress ${done.progress} ${progressBar(done.progress)}`);
      console.log("  recentLogs:");
      for (const line of done.recentLogs) console.log(`    ${line}`);
      const logs = events.flatMap((e) => (e.type === "log" ? e.lines.map((l) => l.message) : []));
      check(
        consecutive(
          events.map((e) => e.eventId),
          1,
        ),
        "event ids 1, 2, 3, … with no gap and no repeat",
      );
      check(
        events.at(-1)?.type === "status" && done.status === "Succeeded",
        "the last event: status Succeeded",
      );
      check(
        events.some((e) => e.type === "progress"),
        "at least one progress event",
      );
      check(
        show(logs) === show([5, 10, 15, 20].map((n) => `imported ${n}/20 rows`)),
        'log lines "imported 5/20 rows" … "imported 20/20 rows"',
      );
      check(done.progress === 1, "progress 1");
      check(
        done.recentLogs.length === 4 && done.recentLogs.at(-1)?.endsWith("imported 20/20 rows") === true,
        "recentLogs to hold the 4 log lines",
      );
    },
  );

  await scenario(
    "15. resume: stop observing the ImportData run halfway, resume with sinceEventId",
    async (signal) => {
      if (!imported) {
        check(false, "the ImportData run from scenario 14");
        return;
      }
      const { runId, events } = imported;
      const k = Math.floor(events.length / 2);
      console.log(
        `  path: WebSocket API (socketClient); the run has ${events.length} events, stopping after #${k}`,
      );
      const before: RunEvent[] = [];
      for await (const event of socketClient.observeRunEvents(runId, { signal })) {
        before.push(event);
        if (event.eventId >= k) break;
      }
      console.log(
        `  observeRunEvents("${runId}") → ${before.map((e) => `#${e.eventId}`).join(" ")}, stopped`,
      );
      const after: RunEvent[] = [];
      for await (const event of socketClient.observeRunEvents(runId, { sinceEventId: k, signal }))
        after.push(event);
      console.log(
        `  observeRunEvents("${runId}", { sinceEventId: ${k} }) → ${after.map((e) => `#${e.eventId}`).join(" ")}`,
      );
      const ids = [...before, ...after].map((e) => e.eventId);
      const duplicates = ids.length - new Set(ids).size;
      console.log(
        `  resumed at #${after[0]?.eventId} (k+1 = ${k + 1}); together ${ids.length} events, ${duplicates} duplicate(s)`,
      );
      check(
        consecutive(
          before.map((e) => e.eventId),
          1,
        ) && before.length === k,
        `the first observation to yield #1..#${k}`,
      );
      check(after[0]?.eventId === k + 1, `the resumed ids to start at #${k + 1}`);
      check(
        consecutive(ids, 1) && ids.length === events.length,
        `#1..#${events.length} once each, no gap, no duplicate`,
      );
      // Pushed events come from DynamoDB stream records, read ones from the table: compare
      // them field by field (a map attribute's key order is not kept).
      const resumed = [...before, ...after];
      const differs = events.findIndex((e, i) => canonical(e) !== canonical(resumed[i]));
      if (differs >= 0) {
        console.log(`  live:    ${canonical(events[differs])}`);
        console.log(`  resumed: ${canonical(resumed[differs])}`);
      }
      check(
        differs < 0 && resumed.length === events.length,
        "the same events as the live observation in scenario 14",
      );
    },
  );
  await scenario("16. runBatch: ProcessOrder over orders 101, 102, 103", async (signal) => {
    const results = await client.runBatch(
      processOrder,
      [{ orderId: 101 }, { orderId: 102 }, { orderId: 103 }],
      {
        signal,
      },
    );
    for (const result of results) console.log(`  → ${show(result)}`);
    check(
      results.map((r) => r.orderId).join() === "101,102,103",
      "one result per order, in commit order, each with its orderId",
    );
  });

  await scenario(
    "17. runBatch of different jobs: ProcessOrder + EmailReceipt for order 101",
    async (signal) => {
      const mixed = await client.runBatch(
        [
          { job: processOrder, args: { orderId: 101 } },
          { job: emailReceipt, args: { orderId: 101 } },
        ],
        { signal },
      );
      for (const result of mixed) console.log(`  → ${show(result)}`);
      check(
        (mixed[0] as { status?: string }).status === "processed" &&
          (mixed[1] as { emailed?: boolean }).emailed === true,
        "ProcessOrder's result, then EmailReceipt's",
      );
    },
  );

  await scenario("18. streamBatch is fail-fast; the rest of the batch keeps running", async (signal) => {
    const inputs = [{ orderId: 201 }, { orderId: -1 }, { orderId: 203 }];
    const yielded: unknown[] = [];
    let failed: JobRunError | undefined;
    try {
      for await (const result of client.streamBatch(processOrder, inputs, { signal })) yielded.push(result);
    } catch (error) {
      if (!(error instanceof JobRunError)) throw error;
      failed = error;
    }
    console.log(`  yielded ${yielded.length} result(s), then threw: ${failed?.message}`);
    check(failed?.run.batchOrdinal === 1, "the throw to name the child at ordinal 1");
    const batchId = failed?.run.batchId as string;
    const done = await client.waitBatch(batchId, { signal });
    console.log(`  waitBatch("${batchId}") → ${done.status} ${show(done.counts)}`);
    check(
      done.counts.Succeeded === 2 && done.counts.Failed === 1,
      "the two other children to succeed anyway",
    );
  });

  await scenario("19. cancelBatch: one write cancels every child not yet terminal", async (signal) => {
    const batch = await client.triggerBatch(
      longChild,
      Array.from({ length: 20 }, () => undefined),
    );
    console.log(`  triggerBatch(LongChild × 20) → batch ${batch.batchId}`);
    await poll(
      async () => ((await client.getBatch(batch.batchId)).counts.Running > 0 ? true : undefined),
      signal,
    );
    const outcome = await client.cancelBatch(batch.batchId);
    const done = await client.waitBatch(batch.batchId, { signal });
    console.log(`  cancelBatch → ${show(outcome)}; waitBatch → ${done.status} ${show(done.counts)}`);
    check(outcome.canceled && done.counts.Canceled === 20, "all 20 children Canceled");
  });
} finally {
  console.log("\nstopping the local stack...");
  await stack.stop();
}

if (failures.length > 0) {
  console.error(`\ndemo FAILED: ${failures.length} expectation(s) did not hold:`);
  for (const failure of failures) console.error(`  - ${failure}`);
  process.exit(1);
}
console.log("\nall 19 scenarios behaved as expected");
process.exit(0);
