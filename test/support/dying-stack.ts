/**
 * A local stack (`startLocalStack`) in a child process, for the restart test: keeps its
 * data in `DATA_DIR`, runs no worker, triggers one run of "Add" and dies (exits at once,
 * without stopping anything, a second after starting) at the moment its own send of the wake-up would start:
 * after the DynamoDB write, before any message. Prints the run's id first.
 */
import { startLocalStack } from "../../local/stack.js";
import { JobApp } from "../../sdk/src/jobs/job-app.js";

const dataDir = process.env.DATA_DIR;
if (!dataDir) throw new Error("DATA_DIR is not set");
const app = new JobApp();
app.addJob("Add", ({ a, b }: { a: number; b: number }) => a + b);
const stack = await startLocalStack({ app, dataDir, workers: 0 });
stack.system.dispatcher.send = (run) => {
  process.stdout.write(`${run.runId}\n`);
  process.exit(1);
};
// Let the stream consumers handle what starting wrote (job records) and store their positions.
await new Promise((resolve) => setTimeout(resolve, 1500));
await stack.system.client.trigger("Add", { a: 40, b: 2 });
