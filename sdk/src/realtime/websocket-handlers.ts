/**
 * Handlers of the API Gateway WebSocket API: `$connect` (authorization), `$disconnect`
 * (cleanup), `subscribe`, `unsubscribe` and `$default` (anything else: an error frame).
 * Each takes API Gateway's WebSocket event and answers `{ statusCode }`; frames go
 * back through the management API (`ConnectionPoster`).
 *
 * Subscribing confirms (`subscribed`), writes the subscription, then sends the backlog
 * after `sinceEventId`: an event written in between is both in the backlog and pushed by
 * the fanout, never in neither. Clients drop repeated event ids.
 */
import { timingSafeEqual } from "node:crypto";
import type { RunStore } from "../store/run-store.js";
import type { ConnectionPoster } from "./connection-poster.js";
import { parseClientMessage, type ServerFrame } from "./protocol.js";
import { dropConnection, subscribe, unsubscribe } from "./subscriptions.js";

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
  /** Accepts or refuses a connection's token. See {@link sharedTokenAuthorizer}. */
  readonly authorize: (token: string | undefined) => boolean | Promise<boolean>;
}

/** What each route answers to API Gateway. */
export interface RouteResult {
  readonly statusCode: number;
  readonly body?: string;
}

/**
 * An authorizer that accepts exactly `secret` (compared in constant time). Refuses
 * everything when `secret` is empty.
 */
export function sharedTokenAuthorizer(secret: string | undefined): (token: string | undefined) => boolean {
  const expected = Buffer.from(secret ?? "");
  return (token) => {
    const given = Buffer.from(token ?? "");
    return expected.length > 0 && given.length === expected.length && timingSafeEqual(given, expected);
  };
}

/** The token of a `$connect` request: `?token=` or `Authorization: Bearer …`. */
export function connectToken(event: WebSocketEvent): string | undefined {
  const query = event.queryStringParameters?.token;
  if (query) return query;
  const header = Object.entries(event.headers ?? {}).find(([k]) => k.toLowerCase() === "authorization")?.[1];
  return header?.match(/^Bearer\s+(.+)$/i)?.[1];
}

export function createWebSocketHandlers(options: WebSocketHandlerOptions) {
  const { store, poster } = options;
  const reply = async (connectionId: string, frame: ServerFrame): Promise<RouteResult> => {
    if ((await poster.post(connectionId, frame)) === "gone") await dropConnection(store, connectionId);
    return { statusCode: 200 };
  };

  const message = async (event: WebSocketEvent): Promise<RouteResult> => {
    const connectionId = event.requestContext.connectionId;
    const parsed = parseClientMessage(event.body ?? undefined);
    if ("type" in parsed) return reply(connectionId, parsed);
    if (parsed.action === "unsubscribe") {
      await unsubscribe(store, connectionId, parsed.runId);
      return { statusCode: 200 };
    }
    if (!(await store.get(parsed.runId))) {
      return reply(connectionId, {
        type: "error",
        code: "RunNotFound",
        message: `run "${parsed.runId}" was not found`,
      });
    }
    // Confirm first, so the confirmation precedes every event frame (the fanout may push
    // as soon as the subscription exists).
    await reply(connectionId, { type: "subscribed", runId: parsed.runId, sinceEventId: parsed.sinceEventId });
    await subscribe(store, connectionId, parsed.runId);
    for await (const runEvent of store.events(parsed.runId, parsed.sinceEventId)) {
      if (
        (await poster.post(connectionId, { type: "event", runId: parsed.runId, event: runEvent })) === "gone"
      ) {
        await dropConnection(store, connectionId);
        break;
      }
    }
    return { statusCode: 200 };
  };

  return {
    /** `$connect`: 401 without a valid token. */
    async connect(event: WebSocketEvent): Promise<RouteResult> {
      return (await options.authorize(connectToken(event)))
        ? { statusCode: 200 }
        : { statusCode: 401, body: "Unauthorized" };
    },
    /** `$disconnect`: removes the connection's subscriptions. */
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
