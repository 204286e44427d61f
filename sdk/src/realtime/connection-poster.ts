/**
 * Sending frames to WebSocket connections through the API Gateway management API
 * (`PostToConnection`). A connection that is gone answers `GoneException` (HTTP 410);
 * that is reported as `"gone"` so the caller removes its subscriptions.
 */
import {
  ApiGatewayManagementApiClient,
  GoneException,
  PostToConnectionCommand,
} from "@aws-sdk/client-apigatewaymanagementapi";
import type { ServerFrame } from "./protocol.js";

/** Sends a frame to a connection. */
export interface ConnectionPoster {
  post(connectionId: string, frame: ServerFrame): Promise<"sent" | "gone">;
}

/**
 * A poster over the management API at `endpoint` (`https://{api-id}.execute-api.{region}.amazonaws.com/{stage}`
 * on AWS, the local server's URL locally). Pass an existing client to reuse it.
 */
export function managementApiPoster(
  endpoint: string,
  client?: ApiGatewayManagementApiClient,
): ConnectionPoster {
  const api = client ?? new ApiGatewayManagementApiClient({ endpoint });
  return {
    async post(connectionId, frame) {
      try {
        await api.send(
          new PostToConnectionCommand({
            ConnectionId: connectionId,
            Data: new TextEncoder().encode(JSON.stringify(frame)),
          }),
        );
        return "sent";
      } catch (error) {
        if (error instanceof GoneException || (error as { name?: string }).name === "GoneException")
          return "gone";
        throw error;
      }
    },
  };
}
