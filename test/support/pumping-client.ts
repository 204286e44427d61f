/**
 * A client in a child process, for the stalled-input test: triggers one run of "Total"
 * whose streamed argument `values` yields 1, 2, 3 and then nothing more (the source
 * stays open), prints the run id, and waits to be killed.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SQSClient } from "@aws-sdk/client-sqs";
import { localClientConfig } from "../../local/aws-clients.js";
import { connect } from "../../sdk/src/connect.js";

const env = (name: string) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};

const system = connect({
  dynamodb: new DynamoDBClient(localClientConfig(env("DYNAMODB_ENDPOINT"))),
  sqs: new SQSClient(localClientConfig(env("SQS_ENDPOINT"))),
  tableName: env("TABLE_NAME"),
  laneUrls: JSON.parse(env("LANE_URLS")),
});
async function* values() {
  yield 1;
  yield 2;
  yield 3;
  await new Promise(() => undefined);
}
const run = await system.client.trigger("Total", { values: values() });
process.stdout.write(`run ${run.runId}\n`);
