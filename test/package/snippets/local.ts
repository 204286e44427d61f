import { startLocalStack } from "sluice-jobs/local";
import { app, resize } from "./jobs.js";

const stack = await startLocalStack({ app }); // DynamoDB Local, fauxqs, workers, in memory
const resized = await stack.system.client.run(resize, { width: 640 }); // typed: { width: number }
console.log("resized to", resized.width);
await stack.stop();
console.log("stopped"); // nothing is left running: the process exits now
