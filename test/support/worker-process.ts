/**
 * A worker in a child process, for crash tests: connects to the table and lanes named
 * in its environment, runs one job, "Fragile", whose handler prints `started <runId>`
 * and then hangs, so the parent can SIGKILL the process mid-run.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SQSClient } from "@aws-sdk/client-sqs";
import { localClientConfig } from "../../local/aws-clients.js";
import { connect } from "../../sdk/src/connect.js";
import { JobApp } from "../../sdk/src/jobs/job-app.js";
import { PollingWorker } from "../../sdk/src/worker/polling-worker.js";

const env = (name: string) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};

const app = new JobApp();
app
  .addJob("Fragile", async (_args: undefined, ctx) => {
    process.stdout.write(`started ${ctx.runId}\n`);
    await new Promise(() => undefined);
  })
  .withRetry({ maxRetries: 2, initialDelay: "100ms" });

const system = connect({
  dynamodb: new DynamoDBClient(localClientConfig(env("DYNAMODB_ENDPOINT"))),
  sqs: new SQSClient(localClientConfig(env("SQS_ENDPOINT"))),
  tableName: env("TABLE_NAME"),
  laneUrls: JSON.parse(env("LANE_URLS")),
  app,
});
new PollingWorker({
  app,
  store: system.store,
  dispatcher: system.dispatcher,
  client: system.client,
  leaseMs: 2_000,
  heartbeatMs: 500,
  maxIdleMs: 50,
}).start();
process.stdout.write("ready\n");
