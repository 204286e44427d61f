import { afterEach, describe, expect, it } from "vitest";
import WebSocket from "ws";
import type { LocalRealtime } from "../../local/realtime.js";
import { JobClient } from "../../sdk/src/client/job-client.js";
import { JobApp, type RunEvent, RunNotFoundError } from "../../sdk/src/index.js";
import { startTestSystem, type TestSystem } from "../support/test-system.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let system: TestSystem | undefined;
afterEach(async () => {
  await system?.stop();
  system = undefined;
});

function appWithJobs() {
  const app = new JobApp();
  const chatty = app.addJob("Chatty", async function* ({ n }: { n: number }, ctx) {
    for (let i = 0; i < n; i++) {
      ctx.logger.info(`item ${i}`);
      ctx.reportProgress(i / n);
      yield { i };
      await sleep(5);
    }
  });
  return { app, chatty };
}

/** `gapFillMs` large means events can only come from the socket (catch-up and fanout), not from table reads. */
async function start(app: JobApp, gapFillMs = 60_000) {
  system = await startTestSystem({ app, worker: { flushMs: 50 }, realtime: true });
  const realtime = system.realtime as LocalRealtime;
  const socketClient = new JobClient({
    store: system.store,
    dispatcher: system.dispatcher,
    app,
    webSocket: { url: realtime.url, token: realtime.token, gapFillMs },
  });
  return { system, realtime, socketClient };
}

async function collect(events: AsyncIterable<RunEvent>): Promise<RunEvent[]> {
  const out: RunEvent[] = [];
  for await (const e of events) out.push(e);
  return out;
}

/** Opens a raw socket and returns it with a queue of the frames it receives. */
async function rawSocket(url: string, token?: string) {
  const frames: unknown[] = [];
  const ws = new WebSocket(token ? `${url}?token=${token}` : url);
  ws.on("message", (d) => frames.push(JSON.parse(String(d))));
  await new Promise((resolve, reject) => {
    ws.once("open", resolve);
    ws.once("error", reject);
    ws.once("unexpected-response", (_q, res) => reject(new Error(`HTTP ${res.statusCode}`)));
  });
  const next = async () => {
    for (let i = 0; i < 100 && frames.length === 0; i++) await sleep(20);
    return frames.shift();
  };
  return { ws, next };
}

describe("WebSocket observation", () => {
  it("gives the same event sequence as polling", async () => {
    // Arrange
    const { app, chatty } = appWithJobs();
    const { system: s, socketClient } = await start(app);
    const run = await s.client.trigger(chatty, { n: 40 });
    // Act
    const [viaSocket, viaPolling] = await Promise.all([
      collect(socketClient.observeRunEvents(run.runId)),
      collect(s.client.observeRunEvents(run.runId)),
    ]);
    // Assert
    expect(viaSocket.length).toBeGreaterThan(5);
    expect(viaSocket.map((e) => e.eventId)).toEqual(viaSocket.map((_, i) => i + 1));
    expect(viaSocket).toEqual(viaPolling);
  });

  it("loses nothing when the socket is cut mid-stream", async () => {
    const { app, chatty } = appWithJobs();
    const { system: s, realtime: rt, socketClient } = await start(app, 300);
    const run = await s.client.trigger(chatty, { n: 60 });
    const seen: RunEvent[] = [];
    let cut = false;
    for await (const e of socketClient.observeRunEvents(run.runId)) {
      seen.push(e);
      if (!cut && e.type === "output") {
        cut = true;
        for (const socket of rt.server.connections.values()) socket.terminate();
      }
    }
    expect(cut).toBe(true);
    expect(seen.map((e) => e.eventId)).toEqual(seen.map((_, i) => i + 1));
    expect(seen).toEqual(await collect(s.client.observeRunEvents(run.runId)));
    const items = seen.flatMap((e) => (e.type === "output" ? e.items : []));
    expect(items).toHaveLength(60);
  });

  it("resumes from an event id with no gap and no duplicate", async () => {
    const { app, chatty } = appWithJobs();
    const { system: s, socketClient } = await start(app);
    const run = await s.client.trigger(chatty, { n: 20 });
    const all = await collect(s.client.observeRunEvents(run.runId));
    const k = Math.floor(all.length / 2);
    const resumed = await collect(socketClient.observeRunEvents(run.runId, { sinceEventId: k }));
    expect(resumed.map((e) => e.eventId)).toEqual(all.slice(k).map((e) => e.eventId));
  });

  it("refuses a connection without a valid token", async () => {
    const { app } = appWithJobs();
    const { realtime: rt } = await start(app);
    await expect(rawSocket(rt.url)).rejects.toThrow("HTTP 401");
    await expect(rawSocket(rt.url, "wrong-token")).rejects.toThrow("HTTP 401");
  });

  it("answers an unknown run and a malformed message with error frames and stays usable", async () => {
    const { app, chatty } = appWithJobs();
    const { system: s, realtime: rt, socketClient } = await start(app);
    const { ws, next } = await rawSocket(rt.url, rt.token);
    ws.send("{not json");
    expect(await next()).toMatchObject({ type: "error", code: "BadRequest", message: "message is not JSON" });
    ws.send(JSON.stringify({ action: "subscribe", runId: "no-such-run" }));
    expect(await next()).toMatchObject({ type: "error", code: "RunNotFound" });
    ws.send(JSON.stringify({ action: "subscribe", runId: "x", sinceEventId: -1 }));
    expect(await next()).toMatchObject({ type: "error", code: "BadRequest" });
    const run = await s.client.trigger(chatty, { n: 1 });
    ws.send(JSON.stringify({ action: "subscribe", runId: run.runId }));
    expect(await next()).toMatchObject({ type: "subscribed", runId: run.runId });
    // The backlog and live pushes may interleave (the SDK orders them by id): event 1 comes among the first frames.
    const frames = [];
    for (let i = 0; i < 5; i++) frames.push(await next());
    expect(frames).toContainEqual(
      expect.objectContaining({
        type: "event",
        runId: run.runId,
        event: expect.objectContaining({ eventId: 1 }),
      }),
    );
    ws.close();
    await expect(collect(socketClient.observeRunEvents("no-such-run"))).rejects.toBeInstanceOf(
      RunNotFoundError,
    );
  });
});
