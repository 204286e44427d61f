/**
 * A client in a child process, for the cascade test: connects to the table and lanes
 * named in its environment, cancels the run `ROOT_RUN_ID`, and is killed (SIGKILL, by
 * itself) the moment the cancel's write of the root has committed: nothing of the
 * cascade below the root can be left to this process.
 */
import { addMiddleware } from "../../sdk/src/metrics/sdk-middleware.js";
import { connectToParent, env, parentDynamoDb } from "./child-env.js";

const dynamodb = parentDynamoDb();
addMiddleware(dynamodb, "build", "killAfterRootWrite", (next, operation) => async (args) => {
  const result = await next(args);
  // A Running root's cancel is a transaction; a Pending root's, one update.
  if (operation === "TransactWriteItems" || operation === "UpdateItem") process.kill(process.pid, "SIGKILL");
  return result;
});
const system = connectToParent({ dynamodb });
await system.client.cancel(env("ROOT_RUN_ID"));
