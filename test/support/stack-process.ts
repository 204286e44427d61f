/**
 * A local stack (`startLocalStack`) in a child process for the safety tests: keeps its data
 * in `DATA_DIR`, prints `ready <json>` (its pid and endpoints) once started, and runs until
 * killed or until a line arrives on stdin, which stops it the normal way.
 */
import { startLocalStack } from "../../local/stack.js";
import { JobApp } from "../../sdk/src/jobs/job-app.js";

const dataDir = process.env.DATA_DIR;
if (!dataDir) throw new Error("DATA_DIR is not set");
const app = new JobApp();
app.addJob("Add", ({ a, b }: { a: number; b: number }) => a + b);
const stack = await startLocalStack({ app, dataDir, workers: 1 });
process.stdout.write(
  `ready ${JSON.stringify({ pid: process.pid, dynamoDbEndpoint: stack.dynamoDbEndpoint, sqsEndpoint: stack.sqsEndpoint, webSocketUrl: stack.webSocket.url })}\n`,
);
process.stdin.once("data", () => void stack.stop());
