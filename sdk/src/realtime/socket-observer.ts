/**
 * Observing a run's events through the WebSocket API, with the same guarantees as
 * polling: every event after `sinceEventId`, in order, once, ending after the terminal
 * status event.
 *
 * Pushed frames may repeat (catch-up overlaps live pushes) or arrive out of order (a
 * DynamoDB stream orders records per item, and each event is its own item), so events
 * are buffered by id and released in sequence. A gap that lasts `gapFillMs` is filled
 * from the table. A dropped socket is reopened (subscribing again from the last event
 * seen) up to `reconnectAttempts` times; after that, observation continues by polling.
 */
import WebSocket from "ws";
import { isTerminalEvent, type RunEvent } from "../domain/run-event.js";
import { JobSystemError, RunNotFoundError } from "../errors.js";
import type { ServerFrame } from "./protocol.js";

/** Where and how the SDK reaches the WebSocket API. */
export interface WebSocketOptions {
  /** `wss://{api}.execute-api.{region}.amazonaws.com/{stage}` (or the local stack's `ws://127.0.0.1:…`). */
  readonly url: string;
  /** Token the `$connect` route accepts. */
  readonly token: string;
  /** Reconnects after a dropped socket before falling back to polling. @default 3 */
  readonly reconnectAttempts?: number;
  /** How long a gap in event ids may last before it is filled from the table, in ms. @default 500 */
  readonly gapFillMs?: number;
}

/** The server refused a subscription. */
export class SubscriptionError extends JobSystemError {
  override name = "SubscriptionError" as const;
  readonly code: string;
  constructor(code: string, message: string) {
    super(`${code}: ${message}`);
    this.code = code;
  }
}

/** Reads events from the table after an id: the gap filler and the polling fallback. */
export interface EventSource {
  /** Events after `sinceEventId` that exist now (one read). */
  read(sinceEventId: number): AsyncIterable<RunEvent>;
  /** Events after `sinceEventId` until the terminal one (polling). */
  follow(sinceEventId: number): AsyncIterable<RunEvent>;
}

export async function* observeOverSocket(
  options: WebSocketOptions,
  runId: string,
  sinceEventId: number,
  source: EventSource,
  signal?: AbortSignal,
): AsyncGenerator<RunEvent> {
  let last = sinceEventId;
  const pending = new Map<number, RunEvent>();
  let failure: Error | undefined;
  let closed = false;
  let wake: () => void = () => undefined;
  const notify = () => wake();

  const open = () =>
    new Promise<WebSocket>((resolve, reject) => {
      const url = new URL(options.url);
      url.searchParams.set("token", options.token);
      const ws = new WebSocket(url);
      ws.once("open", () => {
        ws.send(JSON.stringify({ action: "subscribe", runId, sinceEventId: last }));
        resolve(ws);
      });
      ws.once("error", reject);
      ws.once("unexpected-response", (_req, res) =>
        reject(new SubscriptionError("Unauthorized", `connect refused with HTTP ${res.statusCode}`)),
      );
      ws.on("message", (data) => {
        const frame = JSON.parse(String(data)) as ServerFrame;
        if (frame.type === "event" && frame.event.eventId > last)
          pending.set(frame.event.eventId, frame.event);
        if (frame.type === "error") {
          failure =
            frame.code === "RunNotFound"
              ? new RunNotFoundError(runId)
              : new SubscriptionError(frame.code, frame.message);
        }
        notify();
      });
      ws.on("close", () => {
        closed = true;
        notify();
      });
    });

  const onAbort = () => notify();
  signal?.addEventListener("abort", onAbort);
  let ws: WebSocket | undefined;
  let reconnects = 0;
  let gapSince: number | undefined;
  try {
    ws = await open();
    for (;;) {
      signal?.throwIfAborted();
      if (failure) throw failure;
      let next = pending.get(last + 1);
      while (next) {
        pending.delete(last + 1);
        last = next.eventId;
        gapSince = undefined;
        yield next;
        if (isTerminalEvent(next)) return;
        next = pending.get(last + 1);
      }
      if (closed) {
        if (reconnects++ >= (options.reconnectAttempts ?? 3)) break;
        closed = false;
        ws = await open().catch(() => undefined);
        if (!ws) {
          closed = true;
          await new Promise((r) => setTimeout(r, 100 * reconnects));
        }
        continue;
      }
      if (pending.size > 0) {
        gapSince ??= Date.now();
        if (Date.now() - gapSince >= (options.gapFillMs ?? 500)) {
          for await (const event of source.read(last))
            if (event.eventId > last) pending.set(event.eventId, event);
          gapSince = undefined;
          continue;
        }
      }
      await new Promise<void>((resolve) => {
        wake = resolve;
        if (pending.size > 0) setTimeout(resolve, options.gapFillMs ?? 500);
      });
    }
    // The socket could not be reopened: go on by polling from the last event seen.
    yield* source.follow(last);
  } finally {
    signal?.removeEventListener("abort", onAbort);
    ws?.removeAllListeners("close");
    ws?.close();
  }
}
