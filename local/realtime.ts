/**
 * Live observation on the local stack: the WebSocket server with the same handlers the
 * WebSocket API's function runs, and the fanout handler the stream dispatch consumer
 * calls (see `stream-consumers.ts`).
 */
import { randomBytes } from "node:crypto";
import { ApiGatewayManagementApiClient } from "@aws-sdk/client-apigatewaymanagementapi";
import { managementApiPoster } from "../sdk/src/realtime/connection-poster.js";
import { createFanoutHandler, type StreamRecords } from "../sdk/src/realtime/fanout.js";
import { sharedTokenAuthorizer } from "../sdk/src/realtime/tokens.js";
import { createWebSocketHandlers } from "../sdk/src/realtime/websocket-handlers.js";
import type { RunStore } from "../sdk/src/store/run-store.js";
import { localClientConfig } from "./aws-clients.js";
import { type LocalWebSocketServer, startLocalWebSocketServer } from "./websocket-server.js";

export interface LocalRealtimeOptions {
  readonly store: RunStore;
  /** @default a random token */
  readonly token?: string;
  /** @default a free port */
  readonly port?: number;
}

export interface LocalRealtime {
  readonly url: string;
  readonly token: string;
  readonly server: LocalWebSocketServer;
  /** The fanout: give it the stream's records. */
  readonly fanout: (event: StreamRecords) => Promise<unknown>;
  stop(): Promise<void>;
}

export async function startLocalRealtime(options: LocalRealtimeOptions): Promise<LocalRealtime> {
  const token = options.token ?? randomBytes(18).toString("base64url");
  let poster = managementApiPoster("http://127.0.0.1:1"); // replaced once the server's port is known
  const handlers = createWebSocketHandlers({
    store: options.store,
    poster: { post: (id, frame) => poster.post(id, frame) },
    authorizer: sharedTokenAuthorizer(token),
  });
  const server = await startLocalWebSocketServer(
    handlers,
    options.port !== undefined ? { port: options.port } : {},
  );
  const management = new ApiGatewayManagementApiClient(localClientConfig(server.managementEndpoint));
  poster = managementApiPoster(server.managementEndpoint, management);
  return {
    url: server.url,
    token,
    server,
    fanout: createFanoutHandler({ store: options.store, poster }),
    async stop() {
      await server.stop();
      management.destroy();
    },
  };
}
