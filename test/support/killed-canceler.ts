/**
 * A client in a child process, for the cascade test: connects to the table and lanes
 * named in its environment, cancels the run `ROOT_RUN_ID`, and is killed (SIGKILL, by
 * itself) the moment the cancel's write of the root has committed: nothing of the
 * cascade below the root can be left to this process.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SQSClient } from "@aws-sdk/client-sqs";
import { localClientConfig } from "../../local/aws-clients.js";
import { connect } from "../../sdk/src/connect.js";
import { addMiddleware } from "../../sdk/src/metrics/sdk-middleware.js";

const env = (name: string) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};

const dynamodb = new DynamoDBClient(localClientConfig(env("DYNAMODB_ENDPOINT")));
addMiddleware(dynamodb, "build", "killAfterRootWrite", (next, operation) => async (args) => {
  const result = await next(args);
  // A Running root's cancel is a transaction; a Pending root's, one update.
  if (operation === "TransactWriteItems" || operation === "UpdateItem") process.kill(process.pid, "SIGKILL");
  return result;
});
const system = connect({
  dynamodb,
  sqs: new SQSClient(localClientConfig(env("SQS_ENDPOINT"))),
  tableName: env("TABLE_NAME"),
  laneUrls: JSON.parse(env("LANE_URLS")),
});
await system.client.cancel(env("ROOT_RUN_ID"));
