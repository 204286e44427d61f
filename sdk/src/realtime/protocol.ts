/**
 * The WebSocket protocol between clients and the API Gateway WebSocket API. The server
 * pushes live events only: a client reads what was written before its subscription
 * from the table itself (see `socket-observer.ts`).
 *
 * Connecting (`$connect`, see `tokens.ts`):
 * - with `Authorization: Bearer <token>` (servers, scripts): a wrong token answers 401;
 *   the right one authorizes every subscription of the connection;
 * - with no credentials (browsers): accepted, but each `subscribe` must carry a
 *   subscription token for its run;
 * - a token in the query string (`?token=`) answers 400: URLs end up in logs.
 *
 * Client → server (route chosen by `action`, API Gateway's `$request.body.action`):
 * - `{ "action": "subscribe", "runId": "…", "token"?: "…" }`: push every event of the
 *   run written from now on. `token` is a subscription token, required on a connection
 *   opened without one.
 * - `{ "action": "unsubscribe", "runId": "…" }`
 * - `{ "action": "subscribe", "batchId": "…", "token"?: "…" }` and `unsubscribe` the same:
 *   a batch. Its events are not pushed one by one: each write of its event log rings a
 *   doorbell frame, and the client reads the log from its cursor (`batches/batch-events.ts`).
 *
 * Server → client (JSON text frames):
 * - `{ "type": "subscribed", "runId" }`: the subscription is stored; every event
 *   committed after this frame is pushed, so a table read started now misses nothing.
 *   Events of the run may arrive before it: the fanout pushes as soon as the
 *   subscription is stored, racing this reply.
 * - `{ "type": "event", "runId", "event": RunEvent }`: in commit order per item only
 *   (a DynamoDB stream orders records per item), and possibly one the client already
 *   read; clients order events by id and drop ids they have seen.
 * - `{ "type": "subscribed", "batchId" }`, then `{ "type": "batchEvents", "batchId" }` each
 *   time new events of the batch were committed.
 * - `{ "type": "error", "code", "message" }`: the request was refused; the connection
 *   stays open and usable (`RunNotFound` also answers a batch that does not exist).
 */
import type { RunEvent } from "../domain/run-event.js";

/** What a subscription watches: one run, or one batch. */
export type SubscriptionTarget =
  | { readonly runId: string; readonly batchId?: never }
  | { readonly batchId: string; readonly runId?: never };

/** A request from the client. */
export type ClientMessage =
  | ({ readonly action: "subscribe"; readonly token?: string } & SubscriptionTarget)
  | ({ readonly action: "unsubscribe" } & SubscriptionTarget);

/** The id a subscription is stored under (run and batch ids never collide: a batch child's id has a `-`). */
export const targetId = (target: SubscriptionTarget): string => target.runId ?? (target.batchId as string);

/** Error codes of error frames. */
export type ErrorCode = "BadRequest" | "Unauthorized" | "RunNotFound";

/** A frame from the server. */
export type ServerFrame =
  | { readonly type: "subscribed"; readonly runId: string }
  | { readonly type: "subscribed"; readonly batchId: string }
  | { readonly type: "batchEvents"; readonly batchId: string }
  | { readonly type: "event"; readonly runId: string; readonly event: RunEvent }
  | { readonly type: "error"; readonly code: ErrorCode; readonly message: string };

/** Longest accepted client message, in bytes. */
export const maxClientMessageBytes = 4096;

/** Parses a client message; returns an error frame describing what is wrong instead of throwing. */
export function parseClientMessage(
  body: string | undefined,
): ClientMessage | Extract<ServerFrame, { type: "error" }> {
  const bad = (message: string) => ({ type: "error" as const, code: "BadRequest" as const, message });
  if (!body) return bad('empty message; send JSON like {"action":"subscribe","runId":"…"}');
  if (Buffer.byteLength(body, "utf8") > maxClientMessageBytes)
    return bad(`message over ${maxClientMessageBytes} bytes`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return bad("message is not JSON");
  }
  if (typeof parsed !== "object" || parsed === null) return bad("message must be a JSON object");
  const { action, runId, batchId, token } = parsed as Record<string, unknown>;
  if (action !== "subscribe" && action !== "unsubscribe") {
    return bad(`unknown action ${JSON.stringify(action)}; use "subscribe" or "unsubscribe"`);
  }
  if (batchId !== undefined && runId !== undefined) return bad("give runId or batchId, not both");
  const field = batchId !== undefined ? "batchId" : "runId";
  const id = batchId ?? runId;
  if (typeof id !== "string" || id.length === 0 || id.length > 128) {
    return bad(`${field} must be a non-empty string of at most 128 characters`);
  }
  const target = (field === "batchId" ? { batchId: id } : { runId: id }) as SubscriptionTarget;
  if (action === "unsubscribe") return { action, ...target };
  if (token === undefined) return { action, ...target };
  if (typeof token !== "string" || token.length === 0) return bad("token must be a non-empty string");
  return { action, ...target, token };
}
