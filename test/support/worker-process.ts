/**
 * A worker in a child process, for crash tests: connects to the table and lanes named
 * in its environment and runs two jobs:
 * - "Fragile" prints `started <runId>` and then hangs, so the parent can SIGKILL the
 *   process mid-run;
 * - "Guarded" prints `started <runId>`, then every 50 ms checks `ctx.signal` with
 *   `throwIfAborted()` and prints `effect <attempt> <epoch ms>` (a side effect the signal
 *   guards), so the parent can freeze the process (SIGSTOP) and see what it does on
 *   SIGCONT;
 * - "FragileParent" triggers a child run of "Hang" due in 10 s (so this process, killed
 *   before then, never runs it), then does what "Fragile" does.
 *
 * Two things keep the recovery after the kill within seconds:
 * - the handler prints only once the worker has beaten at least once while holding the
 *   run (every `leaseMs / 3`): until then the message is hidden for the lane's
 *   visibility timeout (60 s), afterwards only for the lease (3 s);
 * - its long polls are short (1 s): a poll still open when the process dies is answered
 *   anyway, and a message it is handed is hidden for the lane's visibility timeout. With
 *   1 s, every poll of the dead process has ended before its run's message comes back.
 */
import { JobApp } from "../../sdk/src/jobs/job-app.js";
import { PollingWorker } from "../../sdk/src/worker/polling-worker.js";
import { connectToParent } from "./child-env.js";

const leaseMs = 3_000;
/** Past the first heartbeat after the claim (every `leaseMs / 3`), with a margin for its two requests. */
const heldAfterMs = leaseMs / 3 + 800;

const hang = () => new Promise<never>(() => undefined);
/** Prints `started <runId>` once the worker holds the run past its first heartbeat. */
const announceStarted = async (runId: string) => {
  await new Promise((resolve) => setTimeout(resolve, heldAfterMs));
  process.stdout.write(`started ${runId}\n`);
};

const app = new JobApp();
app
  .addJob("Fragile", async (_args: undefined, ctx) => {
    await announceStarted(ctx.runId);
    await hang();
  })
  .withRetry({ maxRetries: 2, initialDelay: "100ms" });
app.addJob("Hang", hang);
app
  .addJob("FragileParent", async (_args: undefined, ctx) => {
    await ctx.client.trigger("Hang", undefined, { notBefore: new Date(Date.now() + 10_000) });
    await announceStarted(ctx.runId);
    await hang();
  })
  .withRetry({ maxRetries: 2, initialDelay: "100ms" });
app
  .addJob("Guarded", async (_args: undefined, ctx) => {
    await announceStarted(ctx.runId);
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      ctx.signal.throwIfAborted();
      process.stdout.write(`effect ${ctx.attempt} ${Date.now()}\n`);
    }
  })
  .withRetry({ maxRetries: 2, initialDelay: "100ms" });

const system = connectToParent({ app });
new PollingWorker({
  app,
  store: system.store,
  dispatcher: system.dispatcher,
  client: system.client,
  leaseMs,
  heartbeatMs: 500,
  waitTimeSeconds: 1,
}).start();
process.stdout.write("ready\n");
