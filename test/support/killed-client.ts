/**
 * A client in a child process, for the lost-send test: connects to the table and lanes
 * named in its environment, triggers one run of "Add", and is killed (SIGKILL, by
 * itself) at the moment its own send of the wake-up would start: after the DynamoDB
 * write, before any message.
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
system.dispatcher.send = () => {
  process.kill(process.pid, "SIGKILL");
  return new Promise(() => undefined);
};
await system.client.trigger("Add", { a: 20, b: 22 });
