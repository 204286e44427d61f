/** The local stack (`sluice-jobs/local`): DynamoDB Local, fauxqs, workers, timer and WebSocket server in one process. */
export { type LocalStack, type LocalStackOptions, startLocalStack } from "./stack.js";
