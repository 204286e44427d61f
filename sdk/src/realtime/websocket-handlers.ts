/**
 * Handlers of the API Gateway WebSocket API: `$connect` (authorization), `$disconnect`
 * (cleanup), `subscribe`, `unsubscribe` and `$default` (anything else: an error frame).
 * Each takes API Gateway's WebSocket event and answers `{ statusCode }`; frames go
 * back through the management API (`ConnectionPoster`).
 *
 * Subscribing stores the subscription, then confirms (`subscribed`). The server sends
 * no backlog: the client reads the events written before the confirmation from the
 * table, and the fanout pushes every event committed after it (see `protocol.ts`).
 */
import type { RunStore } from "../store/run-store.js";
import { grantConnection, isGrantedConnection } from "./connection-grants.js";
import type { ConnectionPoster } from "./connection-poster.js";
import { type ClientMessage, parseClientMessage, type ServerFrame, targetId } from "./protocol.js";
import { dropConnection, subscribe, subscribeBatch, unsubscribe } from "./subscriptions.js";
import type { WebSocketAuthorizer } from "./tokens.js";

/** The parts of API Gateway's WebSocket event these handlers read. */
export interface WebSocketEvent {
  readonly requestContext: { readonly connectionId: string; readonly routeKey: string };
  readonly body?: string | null;
  readonly headers?: Readonly<Record<string, string | undefined>> | null;
  readonly queryStringParameters?: Readonly<Record<string, string | undefined>> | null;
}

export interface WebSocketHandlerOptions {
  readonly store: RunStore;
  readonly poster: ConnectionPoster;
  /** Checks connection and subscription tokens. See `sharedTokenAuthorizer` (`tokens.ts`). */
  readonly authorizer: WebSocketAuthorizer;
  /** Clock, epoch ms. @default Date.now */
  readonly now?: () => number;
}

/** What each route answers to API Gateway. */
export interface RouteResult {
  readonly statusCode: number;
  readonly body?: string;
}

/**
 * The bearer token of a `$connect` request's `Authorization` header: `undefined` when
 * there is no such header, `""` when it is not `Bearer <token>`.
 */
function bearerToken(event: WebSocketEvent): string | undefined {
  const header = Object.entries(event.headers ?? {}).find(([k]) => k.toLowerCase() === "authorization")?.[1];
  if (header === undefined) return undefined;
  return header.match(/^Bearer\s+(.+)$/i)?.[1] ?? "";
}

export function createWebSocketHandlers(options: WebSocketHandlerOptions) {
  const { store, poster, authorizer } = options;
  const now = options.now ?? Date.now;
  const reply = async (connectionId: string, frame: ServerFrame): Promise<RouteResult> => {
    if ((await poster.post(connectionId, frame)) === "gone") await dropConnection(store, connectionId);
    return { statusCode: 200 };
  };
  const refuse = (connectionId: string, code: "Unauthorized" | "RunNotFound", message: string) =>
    reply(connectionId, { type: "error", code, message });

  // A subscription token names the run or batch it grants.
  const mayWatch = async (connectionId: string, request: Extract<ClientMessage, { action: "subscribe" }>) =>
    request.token === undefined
      ? isGrantedConnection(store, connectionId, now())
      : authorizer.subscription(request.token, targetId(request), now());

  const message = async (event: WebSocketEvent): Promise<RouteResult> => {
    const connectionId = event.requestContext.connectionId;
    const parsed = parseClientMessage(event.body ?? undefined);
    if ("type" in parsed) return reply(connectionId, parsed);
    const id = targetId(parsed);
    const what = parsed.batchId !== undefined ? "batch" : "run";
    if (parsed.action === "unsubscribe") {
      await unsubscribe(store, connectionId, id);
      return { statusCode: 200 };
    }
    if (!(await mayWatch(connectionId, parsed))) {
      return refuse(
        connectionId,
        "Unauthorized",
        parsed.token === undefined
          ? `this connection was opened without a token: send a subscription token for the ${what} in the message's token field`
          : `the token is not a valid, unexpired subscription token for ${what} "${id}"`,
      );
    }
    if (parsed.batchId !== undefined) {
      if ((await subscribeBatch(store, connectionId, id, now())) === "batch-not-found") {
        return refuse(connectionId, "RunNotFound", `batch "${id}" was not found`);
      }
      return reply(connectionId, { type: "subscribed", batchId: id });
    }
    if ((await subscribe(store, connectionId, id, now())) === "run-not-found") {
      return refuse(connectionId, "RunNotFound", `run "${id}" was not found`);
    }
    return reply(connectionId, { type: "subscribed", runId: id });
  };

  return {
    /**
     * `$connect`: 400 with a token in the query string; 401 with a wrong bearer token;
     * with the right one, the connection is granted every subscription. A connection
     * with no credentials is accepted: its subscribes need subscription tokens.
     */
    async connect(event: WebSocketEvent): Promise<RouteResult> {
      if (event.queryStringParameters?.token !== undefined) {
        return {
          statusCode: 400,
          body: "send the token in an Authorization: Bearer header, never in the query string",
        };
      }
      const token = bearerToken(event);
      if (token === undefined) return { statusCode: 200 };
      if (!(await authorizer.connection(token))) return { statusCode: 401, body: "Unauthorized" };
      await grantConnection(store, event.requestContext.connectionId, now());
      return { statusCode: 200 };
    },
    /** `$disconnect`: removes the connection's subscriptions and grant. */
    async disconnect(event: WebSocketEvent): Promise<RouteResult> {
      await dropConnection(store, event.requestContext.connectionId);
      return { statusCode: 200 };
    },
    /** `subscribe`, `unsubscribe` and `$default` all parse the body the same way. */
    message,
  };
}

/** The handlers' type. */
export type WebSocketHandlers = ReturnType<typeof createWebSocketHandlers>;
