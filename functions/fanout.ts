/** Fanout Lambda on the table's DynamoDB stream: pushes new run events to WebSocket subscribers. */
import { createFanoutLambdaHandler } from "../sdk/src/lambda/realtime-handlers.js";

export const handler = createFanoutLambdaHandler();
