/**
 * The WebSocket protocol between the SDK and the API Gateway WebSocket API.
 *
 * Client → server (route chosen by `action`, API Gateway's `$request.body.action`):
 * - `{ "action": "subscribe", "runId": "…", "sinceEventId": 0 }`: send the run's
 *   events after `sinceEventId` (default 0), then every new one as it is written.
 * - `{ "action": "unsubscribe", "runId": "…" }`
 *
 * Server → client (JSON text frames):
 * - `{ "type": "subscribed", "runId", "sinceEventId" }`
 * - `{ "type": "event", "runId", "event": RunEvent }`: may repeat an event already
 *   sent (catch-up and live pushes overlap); clients drop ids they have seen.
 * - `{ "type": "error", "code", "message" }`: the request was refused; the connection
 *   stays open and usable.
 *
 * Connecting needs the token in the query string (`wss://…?token=…`) or an
 * `Authorization: Bearer …` header; without a valid one `$connect` answers 401.
 */
import type { RunEvent } from "../domain/run-event.js";

/** A request from the client. */
export type ClientMessage =
  | { readonly action: "subscribe"; readonly runId: string; readonly sinceEventId: number }
  | { readonly action: "unsubscribe"; readonly runId: string };

/** Error codes of error frames. */
export type ErrorCode = "BadRequest" | "RunNotFound" | "NotSupported";

/** A frame from the server. */
export type ServerFrame =
  | { readonly type: "subscribed"; readonly runId: string; readonly sinceEventId: number }
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
  const { action, runId, batchId, sinceEventId } = parsed as Record<string, unknown>;
  if (action !== "subscribe" && action !== "unsubscribe") {
    return bad(`unknown action ${JSON.stringify(action)}; use "subscribe" or "unsubscribe"`);
  }
  if (batchId !== undefined) {
    return {
      type: "error",
      code: "NotSupported",
      message: "batch subscriptions are not available yet; subscribe by runId",
    };
  }
  if (typeof runId !== "string" || runId.length === 0 || runId.length > 128) {
    return bad("runId must be a non-empty string of at most 128 characters");
  }
  if (action === "unsubscribe") return { action, runId };
  const since = sinceEventId ?? 0;
  if (typeof since !== "number" || !Number.isInteger(since) || since < 0) {
    return bad(`sinceEventId must be an integer >= 0, got ${JSON.stringify(sinceEventId)}`);
  }
  return { action, runId, sinceEventId: since };
}
