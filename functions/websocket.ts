/** WebSocket API Lambda: `$connect` (token check), `$disconnect`, `subscribe`, `unsubscribe`, `$default`. */
import { createWebSocketLambdaHandler } from "../sdk/src/lambda/realtime-handlers.js";

export const handler = createWebSocketLambdaHandler();
