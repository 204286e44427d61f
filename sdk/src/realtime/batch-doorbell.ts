/**
 * Observing a batch over the WebSocket API: a subscription whose frames only say that
 * new events of the batch were committed (`batchEvents`); the observer then reads the
 * batch's event log from its cursor, so what it yields is exactly what polling yields.
 * A dropped socket is reopened (up to `reconnectAttempts` in a row); past that, waiting
 * falls back to the observer's own polling delays.
 */
import { onAbort } from "../client/abort-listeners.js";
import { Doorbell } from "./doorbell.js";
import type { ServerFrame } from "./protocol.js";
import { openRunSocket, type RunSocket } from "./run-socket.js";
import { defaultSafetyReadMs, type WebSocketOptions } from "./socket-observer.js";
import { SubscriptionError } from "./subscription-error.js";

/** A batch subscription, as the observer waits on it. */
export interface BatchDoorbell {
  /**
   * Waits until new events may be in the table: a frame came, the idle safety interval
   * passed, or (socket lost for good) `pollMs` passed. Rejects with the signal's reason on abort.
   */
  wait(pollMs: number): Promise<void>;
  close(): void;
}

/**
 * Subscribes to the batch and resolves once the subscription is confirmed: every event
 * committed after that rings the bell, so a table read started then misses nothing.
 * @throws {@link SubscriptionError} the server refused the subscription.
 */
export async function openBatchDoorbell(
  options: WebSocketOptions,
  batchId: string,
  signal?: AbortSignal,
): Promise<BatchDoorbell> {
  const bell = new Doorbell();
  let socket: RunSocket | undefined;
  let closed = false;
  let reconnects = 0;
  /** A frame came while nobody waited (the reader was reading). */
  let rung = false;
  let confirm: ((error?: Error) => void) | undefined;
  const confirmed = new Promise<void>((resolve, reject) => {
    confirm = (error) => (error ? reject(error) : resolve());
  });
  const listener = {
    frame(frame: ServerFrame) {
      if (frame.type === "subscribed") {
        reconnects = 0;
        confirm?.();
      }
      if (frame.type === "error") confirm?.(new SubscriptionError(frame.code, frame.message));
      rung = true;
      bell.ring();
    },
    closed() {
      closed = true;
      bell.ring();
    },
  };
  const stopListening = signal ? onAbort(signal, () => bell.ring()) : () => undefined;
  socket = await openRunSocket(options, { batchId }, listener, signal);
  await confirmed;
  const safetyReadMs = options.safetyReadMs ?? defaultSafetyReadMs;
  return {
    async wait(pollMs) {
      if (closed && reconnects < (options.reconnectAttempts ?? 3)) {
        socket?.close();
        reconnects++;
        closed = false;
        socket = await openRunSocket(options, { batchId }, listener, signal).catch(() => {
          closed = true;
          return undefined;
        });
      }
      if (!rung) await bell.wait(socket && !closed ? safetyReadMs : pollMs);
      rung = false;
      signal?.throwIfAborted();
    },
    close() {
      stopListening();
      socket?.close();
    },
  };
}
