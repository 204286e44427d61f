/**
 * Observing a run's events through the WebSocket API, with the same guarantees as
 * polling: every event after `sinceEventId`, in order, once, ending after the terminal
 * status event (invariant 4).
 *
 * The server pushes live events only; everything else comes from the table, and all of
 * it merges by event id (`event-buffer.ts`), so an event read and pushed is yielded once:
 * - **Backlog.** Once the server confirms the subscription (`subscribed`), every event
 *   committed later is pushed, so one table read after `sinceEventId` then misses nothing.
 * - **Gap fill.** Pushes arrive in order per item only (each event is its own item); a
 *   gap in ids that lasts `gapFillMs` is filled from the table.
 * - **Idle safety read.** When no event has come for `safetyReadMs` (a push the fanout
 *   never made: a skipped batch, a lost frame, a dropped subscription), the table is read
 *   anyway, so a stall lasts at most that long. While a run is quiet this costs one
 *   strongly consistent `GetItem` and `Query` per `safetyReadMs`.
 *
 * A dropped socket is reopened (subscribing again, then reading from the last event
 * seen) up to `reconnectAttempts` times in a row; after that, observation continues by
 * polling.
 */
import { onAbort } from "../client/abort-listeners.js";
import { isTerminalEvent, type RunEvent } from "../domain/run-event.js";
import { RunNotFoundError } from "../errors.js";
import { Doorbell } from "./doorbell.js";
import { EventBuffer } from "./event-buffer.js";
import type { ServerFrame } from "./protocol.js";
import { openRunSocket, type RunSocket } from "./run-socket.js";
import { SubscriptionError } from "./subscription-error.js";

/** Where and how the SDK reaches the WebSocket API. */
export interface WebSocketOptions {
  /** `wss://{api}.execute-api.{region}.amazonaws.com/{stage}` (or the local stack's `ws://127.0.0.1:…`). */
  readonly url: string;
  /** The API's token, sent on `$connect` as `Authorization: Bearer <token>` (never in the URL). */
  readonly token: string;
  /** Reconnects in a row after a dropped socket before falling back to polling. @default 3 */
  readonly reconnectAttempts?: number;
  /** How long a gap in event ids may last before it is filled from the table, in ms. @default 500 */
  readonly gapFillMs?: number;
  /** How long observation may go without an event before the table is read anyway, in ms. @default defaultSafetyReadMs */
  readonly safetyReadMs?: number;
}

/**
 * The idle safety read's default interval, in ms: 5 s, the worker's default flush
 * interval (a run that logs writes about that often anyway).
 */
export const defaultSafetyReadMs = 5_000;

/** Reads events from the table after an id: the backlog, the gap filler, the safety read and the polling fallback. */
export interface EventSource {
  /** Events after `sinceEventId` that exist now (one read). */
  read(sinceEventId: number): AsyncIterable<RunEvent>;
  /** Events after `sinceEventId` until the terminal one (polling). */
  follow(sinceEventId: number): AsyncIterable<RunEvent>;
}

/** The error an error frame stands for. */
function refusal(runId: string, frame: Extract<ServerFrame, { type: "error" }>): Error {
  return frame.code === "RunNotFound"
    ? new RunNotFoundError(runId)
    : new SubscriptionError(frame.code, frame.message);
}

export async function* observeOverSocket(
  options: WebSocketOptions,
  runId: string,
  sinceEventId: number,
  source: EventSource,
  signal?: AbortSignal,
): AsyncGenerator<RunEvent> {
  const gapFillMs = options.gapFillMs ?? 500;
  const safetyReadMs = options.safetyReadMs ?? defaultSafetyReadMs;
  const buffer = new EventBuffer(sinceEventId);
  const bell = new Doorbell();
  let failure: Error | undefined;
  let closed = false;
  let backlogDue = false;
  let reconnects = 0;
  const listener = {
    frame(frame: ServerFrame) {
      if (frame.type === "event") buffer.add(frame.event);
      if (frame.type === "subscribed") {
        backlogDue = true;
        reconnects = 0;
      }
      if (frame.type === "error") failure = refusal(runId, frame);
      bell.ring();
    },
    closed() {
      closed = true;
      bell.ring();
    },
  };
  const stopListening = signal ? onAbort(signal, () => bell.ring()) : () => undefined;
  let socket: RunSocket | undefined;
  /** When an event last came, or the table was last read, epoch ms. */
  let quietSinceMs = Date.now();
  let gapSinceMs: number | undefined;
  try {
    socket = await openRunSocket(options, { runId }, listener, signal);
    for (;;) {
      signal?.throwIfAborted();
      if (failure) throw failure;
      for (let event = buffer.next(); event; event = buffer.next()) {
        quietSinceMs = Date.now();
        yield event;
        if (isTerminalEvent(event)) return;
      }
      if (closed) {
        socket?.close();
        socket = undefined;
        if (reconnects >= (options.reconnectAttempts ?? 3)) break;
        reconnects++;
        closed = false;
        socket = await openRunSocket(options, { runId }, listener, signal).catch(() => undefined);
        if (!socket) {
          closed = true;
          await bell.wait(100 * reconnects);
        }
        continue;
      }
      const now = Date.now();
      gapSinceMs = buffer.hasGap ? (gapSinceMs ?? now) : undefined;
      const gapFillAt = gapSinceMs === undefined ? Number.POSITIVE_INFINITY : gapSinceMs + gapFillMs;
      const safetyReadAt = quietSinceMs + safetyReadMs;
      if (backlogDue || now >= gapFillAt || now >= safetyReadAt) {
        backlogDue = false;
        gapSinceMs = undefined;
        for await (const event of source.read(buffer.last)) buffer.add(event);
        quietSinceMs = Date.now();
        continue;
      }
      await bell.wait(Math.min(gapFillAt, safetyReadAt) - now);
    }
    // The socket could not be reopened: go on by polling from the last event seen.
    yield* source.follow(buffer.last);
  } finally {
    stopListening();
    socket?.close();
  }
}
