/**
 * A worker in a child process for the limits-under-crashes test (N2): job "Limited" has
 * a job limit of 3, a key limit of 2 per `tenant` and lives in queue "narrow" (limit 4).
 * Its handler prints `start <runId> <attempt>`, works 100–300 ms, then prints
 * `end <runId> <attempt>`; the parent SIGKILLs such processes at random. A short lease
 * (3 s) and short long polls (1 s) keep recovery after a kill within seconds (see
 * `worker-process.ts`).
 */
import { JobApp } from "../../sdk/src/jobs/job-app.js";
import { PollingWorker } from "../../sdk/src/worker/polling-worker.js";
import { connectToParent } from "./child-env.js";

export function limitedApp(
  handler: (args: { tenant: string }, runId: string, attempt: number) => Promise<void>,
) {
  const app = new JobApp();
  app.addQueue("narrow", { maxConcurrency: 4 });
  app
    .addJob("Limited", (args: { tenant: string }, ctx) => handler(args, ctx.runId, ctx.attempt))
    .withQueue("narrow")
    .withMaxConcurrency(3)
    .withConcurrencyKey((args) => args.tenant, { maxConcurrency: 2 })
    .withRetry({ maxRetries: 30, initialDelay: "100ms" });
  return app;
}

if (process.env.TABLE_NAME) {
  const app = limitedApp(async (_args, runId, attempt) => {
    process.stdout.write(`start ${runId} ${attempt}\n`);
    await new Promise((resolve) => setTimeout(resolve, 100 + Math.random() * 200));
    process.stdout.write(`end ${runId} ${attempt}\n`);
  });
  const system = connectToParent({ app });
  new PollingWorker({
    app,
    store: system.store,
    dispatcher: system.dispatcher,
    client: system.client,
    leaseMs: 3_000,
    heartbeatMs: 500,
    waitTimeSeconds: 1,
  }).start();
  process.stdout.write("ready\n");
}
