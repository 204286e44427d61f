/**
 * A local stack (`startLocalStack`) in a child process, for the restart tests: keeps its
 * data in `DATA_DIR`, triggers one run and dies (exits at once, stopping nothing, as
 * `kill -9` would). Prints the run's id first. `DIE_AT` says when:
 * - `send` (default): no worker; "Add" is triggered and the process dies at the moment
 *   its own send of the wake-up would start: after the DynamoDB write, before any message.
 * - `running`: one worker with a 2 s lease; "KillsItsWorker" is triggered and the process dies once
 *   its handler starts, so the run stays Running with its lease message lost.
 */
import { startLocalStack } from "../../local/stack.js";
import { JobApp } from "../../sdk/src/jobs/job-app.js";

const dataDir = process.env.DATA_DIR;
if (!dataDir) throw new Error("DATA_DIR is not set");
const dieWhileRunning = process.env.DIE_AT === "running";
const app = new JobApp();
app.addJob("Add", ({ a, b }: { a: number; b: number }) => a + b);
app.addJob("KillsItsWorker", async (_: undefined, ctx) => {
  process.stdout.write(`${ctx.runId}\n`);
  process.exit(1);
});
const stack = await startLocalStack({ app, dataDir, workers: dieWhileRunning ? 1 : 0, leaseMs: 2_000 });
if (!dieWhileRunning) {
  stack.system.dispatcher.send = (run) => {
    process.stdout.write(`${run.runId}\n`);
    process.exit(1);
  };
}
// Let the stream consumers handle what starting wrote (job records) and store their positions.
await new Promise((resolve) => setTimeout(resolve, 1500));
await (dieWhileRunning
  ? stack.system.client.trigger("KillsItsWorker")
  : stack.system.client.trigger("Add", { a: 40, b: 2 }));
