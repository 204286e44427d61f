/** Stream dispatch Lambda on the table's DynamoDB stream: wake-ups of Pending runs, and the WebSocket fanout. */
import { createStreamDispatchLambdaHandler } from "../sdk/src/lambda/stream-handlers.js";

export const handler = createStreamDispatchLambdaHandler();
