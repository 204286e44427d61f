/**
 * A client in a child process, for the lost-send test: connects to the table and lanes
 * named in its environment, triggers one run of "Add", and is killed (SIGKILL, by
 * itself) at the moment its own send of the wake-up would start: after the DynamoDB
 * write, before any message.
 */
import { connectToParent } from "./child-env.js";

const system = connectToParent();
system.dispatcher.send = () => {
  process.kill(process.pid, "SIGKILL");
  return new Promise(() => undefined);
};
await system.client.trigger("Add", { a: 20, b: 22 });
