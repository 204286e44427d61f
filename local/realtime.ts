/**
 * Live observation on the local stack: the WebSocket server with the same handlers the
 * WebSocket API's functions run, fed by a DynamoDB Streams poller calling the same
 * fanout handler the stream-triggered function runs.
 */
import { randomBytes } from "node:crypto";
import { ApiGatewayManagementApiClient } from "@aws-sdk/client-apigatewaymanagementapi";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBStreamsClient } from "@aws-sdk/client-dynamodb-streams";
import { managementApiPoster } from "../sdk/src/realtime/connection-poster.js";
import { createFanoutHandler } from "../sdk/src/realtime/fanout.js";
import { createWebSocketHandlers, sharedTokenAuthorizer } from "../sdk/src/realtime/websocket-handlers.js";
import type { RunStore } from "../sdk/src/store/run-store.js";
import { localClientConfig } from "./aws-clients.js";
import { startStreamsPoller } from "./streams-poller.js";
import { type LocalWebSocketServer, startLocalWebSocketServer } from "./websocket-server.js";

export interface LocalRealtimeOptions {
  readonly store: RunStore;
  readonly dynamodb: DynamoDBClient;
  /** DynamoDB Local's endpoint (its streams API is served there too). */
  readonly dynamoDbEndpoint: string;
  /** @default a random token */
  readonly token?: string;
  /** @default a free port */
  readonly port?: number;
}

export interface LocalRealtime {
  readonly url: string;
  readonly token: string;
  readonly server: LocalWebSocketServer;
  stop(): Promise<void>;
}

export async function startLocalRealtime(options: LocalRealtimeOptions): Promise<LocalRealtime> {
  const token = options.token ?? randomBytes(18).toString("base64url");
  let poster = managementApiPoster("http://127.0.0.1:1"); // replaced once the server's port is known
  const handlers = createWebSocketHandlers({
    store: options.store,
    poster: { post: (id, frame) => poster.post(id, frame) },
    authorize: sharedTokenAuthorizer(token),
  });
  const server = await startLocalWebSocketServer(
    handlers,
    options.port !== undefined ? { port: options.port } : {},
  );
  const management = new ApiGatewayManagementApiClient(localClientConfig(server.managementEndpoint));
  poster = managementApiPoster(server.managementEndpoint, management);
  const streams = new DynamoDBStreamsClient(localClientConfig(options.dynamoDbEndpoint));
  const poller = await startStreamsPoller(
    options.dynamodb,
    streams,
    options.store.tableName,
    createFanoutHandler({ store: options.store, poster }),
  );
  return {
    url: server.url,
    token,
    server,
    async stop() {
      await poller.stop();
      await server.stop();
      streams.destroy();
      management.destroy();
    },
  };
}
