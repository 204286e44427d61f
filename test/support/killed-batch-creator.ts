/**
 * A client in a child process, for the batch creation test: triggers a batch of
 * `INPUTS` runs of `ProcessOrder` with the deduplication id `DEDUP`, and is killed
 * (SIGKILL, by itself) the moment its `KILL_AFTER_PUTS`-th `PutItem` has committed:
 * midway through the input chunks, or right after the batch record.
 */
import { addMiddleware } from "../../sdk/src/metrics/sdk-middleware.js";
import { connectToParent, env, parentDynamoDb } from "./child-env.js";

const dynamodb = parentDynamoDb();
const killAfter = Number(env("KILL_AFTER_PUTS"));
let puts = 0;
addMiddleware(dynamodb, "build", "killAfterPuts", (next, operation) => async (args) => {
  const result = await next(args);
  if (operation === "PutItem" && ++puts === killAfter) process.kill(process.pid, "SIGKILL");
  return result;
});
const system = connectToParent({ dynamodb });
const inputs = Array.from({ length: Number(env("INPUTS")) }, (_, orderId) => ({ orderId }));
await system.client.triggerBatch("ProcessOrder", inputs, { deduplicationId: env("DEDUP") });
