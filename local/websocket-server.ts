/**
 * The local stand-in for an API Gateway WebSocket API: a `ws` server on 127.0.0.1 that
 * turns connections and messages into API Gateway's WebSocket events for the same
 * handlers Lambda runs (`$connect`, `$disconnect`, routes chosen by the body's
 * `action`), and serves the management API (`POST`/`DELETE /@connections/{id}`) so the
 * handlers' `PostToConnection` calls reach the sockets. A refused `$connect` answers
 * the upgrade with its status code, as API Gateway does.
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { WebSocket, WebSocketServer } from "ws";
import type { WebSocketEvent, WebSocketHandlers } from "../sdk/src/realtime/websocket-handlers.js";
import { PortInUseError } from "./errors.js";

export interface LocalWebSocketServer {
  /** `ws://127.0.0.1:<port>` for clients. */
  readonly url: string;
  /** `http://127.0.0.1:<port>` for the management API. */
  readonly managementEndpoint: string;
  /** Open connections by id (for tests that cut one). */
  readonly connections: ReadonlyMap<string, WebSocket>;
  stop(): Promise<void>;
}

/** Listens on 127.0.0.1:`port` (a free port by default); throws {@link PortInUseError} when it is taken. */
export async function startLocalWebSocketServer(
  handlers: WebSocketHandlers,
  options: { port?: number } = {},
): Promise<LocalWebSocketServer> {
  const connections = new Map<string, WebSocket>();
  let stopping = false;
  const http = createServer((req, res) => void manage(req, res));
  const wss = new WebSocketServer({ noServer: true });

  async function manage(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const id = decodeURIComponent(req.url?.match(/^\/@connections\/([^/?]+)/)?.[1] ?? "");
    const socket = connections.get(id);
    if (!id) return void res.writeHead(404).end();
    if (!socket || socket.readyState !== WebSocket.OPEN) {
      res.writeHead(410, { "content-type": "application/json", "x-amzn-errortype": "GoneException" });
      return void res.end(JSON.stringify({ message: "GoneException" }));
    }
    if (req.method === "DELETE") {
      socket.close();
      return void res.writeHead(204).end();
    }
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    socket.send(Buffer.concat(chunks).toString("utf8"));
    res.writeHead(200).end();
  }

  const eventFor = (
    connectionId: string,
    routeKey: string,
    extra: Partial<WebSocketEvent> = {},
  ): WebSocketEvent => ({
    requestContext: { connectionId, routeKey },
    ...extra,
  });

  http.on("upgrade", async (req, socket, head) => {
    const connectionId = randomUUID();
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const result = await handlers
      .connect(
        eventFor(connectionId, "$connect", {
          queryStringParameters: Object.fromEntries(url.searchParams),
          headers: Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)])),
        }),
      )
      .catch(() => ({ statusCode: 500 }));
    if (result.statusCode !== 200) {
      socket.end(
        `HTTP/1.1 ${result.statusCode} ${result.statusCode === 401 ? "Unauthorized" : "Error"}\r\n\r\n`,
      );
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      connections.set(connectionId, ws);
      ws.on("message", (data) => {
        void handlers.message(eventFor(connectionId, "message", { body: String(data) })).catch((error) => {
          // A route still answering while the server stops finds the management API gone: expected then.
          if (!stopping) console.error("websocket route failed:", error);
        });
      });
      ws.on("close", () => {
        connections.delete(connectionId);
        void handlers.disconnect(eventFor(connectionId, "$disconnect")).catch(() => undefined);
      });
    });
  });

  await new Promise<void>((resolve, reject) => {
    http.once("error", (error: NodeJS.ErrnoException) =>
      reject(error.code === "EADDRINUSE" ? new PortInUseError(options.port ?? 0, "WebSocket server") : error),
    );
    http.listen(options.port ?? 0, "127.0.0.1", resolve);
  });
  const { port } = http.address() as AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}`,
    managementEndpoint: `http://127.0.0.1:${port}`,
    connections,
    async stop() {
      stopping = true;
      for (const ws of connections.values()) ws.terminate();
      wss.close();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
