/**
 * One WebSocket connection subscribed to one run (or batch) (Node, the `ws` library): it connects
 * with the API's token in an `Authorization: Bearer` header (never in the URL), sends
 * `subscribe` once open, and hands every frame and the close to a listener.
 */
import WebSocket from "ws";
import { onAbort } from "../client/abort-listeners.js";
import type { ServerFrame, SubscriptionTarget } from "./protocol.js";
import { SubscriptionError } from "./subscription-error.js";

/** What a {@link RunSocket} reports. */
export interface RunSocketListener {
  frame(frame: ServerFrame): void;
  /** The connection closed (by the server, the network, or API Gateway's idle and duration limits). */
  closed(): void;
}

/** An open subscription; {@link close} ends it at once. */
export interface RunSocket {
  close(): void;
}

/** How long the opening handshake may take, in ms. */
const handshakeTimeoutMs = 10_000;

/**
 * Opens a connection to `url` and subscribes to `target` (a run or a batch).
 *
 * @throws {@link SubscriptionError} `$connect` answered with an HTTP error (401: a wrong token).
 * @throws the socket's error when it cannot connect, or the signal's reason if it aborts first.
 */
export function openRunSocket(
  options: { readonly url: string; readonly token: string },
  target: SubscriptionTarget,
  listener: RunSocketListener,
  signal?: AbortSignal,
): Promise<RunSocket> {
  const ws = new WebSocket(options.url, {
    headers: { Authorization: `Bearer ${options.token}` },
    handshakeTimeout: handshakeTimeoutMs,
  });
  const close = () => {
    ws.removeAllListeners();
    ws.on("error", () => undefined); // terminating a socket still connecting emits one
    ws.terminate();
  };
  return new Promise<RunSocket>((resolve, reject) => {
    const fail = (error: unknown) => {
      stopListening();
      close();
      reject(error);
    };
    const stopListening = signal ? onAbort(signal, () => fail(signal.reason)) : () => undefined;
    ws.once("error", fail);
    ws.once("unexpected-response", (_request, response) =>
      fail(
        new SubscriptionError(
          response.statusCode === 401 ? "Unauthorized" : "ConnectRefused",
          `$connect answered HTTP ${response.statusCode}`,
        ),
      ),
    );
    ws.once("open", () => {
      stopListening();
      ws.removeAllListeners("error").removeAllListeners("unexpected-response");
      ws.on("error", () => undefined); // a close follows every error
      ws.on("message", (data) => {
        const frame = parseFrame(String(data));
        if (frame) listener.frame(frame);
      });
      ws.on("close", () => listener.closed());
      ws.send(JSON.stringify({ action: "subscribe", ...target }));
      resolve({ close });
    });
  });
}

/** A server frame, or `undefined` for text that is not one (ignored). */
function parseFrame(text: string): ServerFrame | undefined {
  try {
    const frame = JSON.parse(text) as ServerFrame | null;
    return typeof frame === "object" && frame !== null && typeof frame.type === "string" ? frame : undefined;
  } catch {
    return undefined;
  }
}
