/** Lambda handlers (`sluice-jobs/lambda`): thin adapters from AWS events to the worker core and observers. */
export { createMaintenanceLambdaHandler, createWorkerLambdaHandler, type LambdaClients } from "./handlers.js";
export { createWebSocketLambdaHandler } from "./realtime-handlers.js";
export { createSqsWorkerHandler, type SqsWorkerHandlerOptions } from "./sqs-worker-handler.js";
export { createProjectionsLambdaHandler, createStreamDispatchLambdaHandler } from "./stream-handlers.js";
