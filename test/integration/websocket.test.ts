/**
 * Observation over the local WebSocket API (the same handlers and fanout Lambda runs):
 * the same events as polling, no gap and no duplicate across a cut socket and a resume,
 * the backlog read from the table (the server pushes live events only), an idle safety
 * read that ends a stall of pushes, header and subscription token authorization, and no
 * timers left behind.
 */
import { afterEach, describe, expect, it } from "vitest";
import WebSocket from "ws";
import type { LocalRealtime } from "../../local/realtime.js";
import { JobClient } from "../../sdk/src/client/job-client.js";
import {
  createSubscriptionToken,
  JobApp,
  type RunEvent,
  RunNotFoundError,
  SubscriptionError,
} from "../../sdk/src/index.js";
import type { WebSocketOptions } from "../../sdk/src/realtime/socket-observer.js";
import { subscribers } from "../../sdk/src/realtime/subscriptions.js";
import { RunStore } from "../../sdk/src/store/run-store.js";
import { startTestSystem, type TestSystem } from "../support/test-system.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let system: TestSystem | undefined;
afterEach(async () => {
  await system?.stop();
  system = undefined;
});

/** A gate a job waits at until the test opens it. */
function gate() {
  let open: () => void = () => undefined;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { open, opened };
}

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
  const held = gate();
  const progress: { runId?: string; finishedAtMs?: number } = {};
  const gated = app.addJob("Gated", async (_args: undefined, ctx) => {
    progress.runId = ctx.runId;
    await held.opened;
    progress.finishedAtMs = Date.now();
    return "done";
  });
  return { app, chatty, gated, held, progress };
}

/** The socket client's store: counts the event reads it finished (backlog, gap fill, safety reads). */
class ReadCountingStore extends RunStore {
  reads = 0;
  override async *events(runId: string, sinceEventId = 0): AsyncGenerator<RunEvent> {
    yield* super.events(runId, sinceEventId);
    this.reads++;
  }
}

/**
 * Large `gapFillMs` and `safetyReadMs` by default: events then come only from pushes and
 * the one backlog read after `subscribed`.
 */
async function start(app: JobApp, socket: Partial<WebSocketOptions> = {}) {
  system = await startTestSystem({ app, worker: { flushMs: 50 }, realtime: true });
  const realtime = system.realtime as LocalRealtime;
  const store = new ReadCountingStore({ doc: system.store.doc, tableName: system.store.tableName });
  const socketClient = new JobClient({
    store,
    dispatcher: system.dispatcher,
    app,
    webSocket: {
      url: realtime.url,
      token: realtime.token,
      gapFillMs: 60_000,
      safetyReadMs: 60_000,
      ...socket,
    },
  });
  return { system, realtime, socketClient, store };
}

async function collect(events: AsyncIterable<RunEvent>): Promise<RunEvent[]> {
  const out: RunEvent[] = [];
  for await (const e of events) out.push(e);
  return out;
}

/** Opens a raw socket (no SDK) and returns it with a queue of the frames it receives. */
async function rawSocket(url: string, headers: Record<string, string> = {}) {
  const frames: unknown[] = [];
  const ws = new WebSocket(url, { headers });
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
  /** The next reply to a request: pushed events may come before it (the fanout races the confirmation), so they are skipped. */
  const nextReply = async () => {
    for (;;) {
      const frame = (await next()) as { type?: string } | undefined;
      if (frame?.type !== "event") return frame;
    }
  };
  return { ws, next, nextReply, frames };
}

/** Waits (up to 10 s) until `check` holds. */
async function until(check: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (await check()) return;
    await sleep(20);
  }
  throw new Error("condition not met within 10 s");
}

/**
 * Tracks the timers set directly by the WebSocket observer's modules and by `ws`, and
 * which of them are still pending (neither fired nor cleared).
 */
function trackObserverTimers() {
  const pending = new Set<unknown>();
  const realSet = globalThis.setTimeout;
  const realClear = globalThis.clearTimeout;
  const ours = /sdk[\\/]src[\\/]realtime[\\/]|node_modules[\\/]ws[\\/]/;
  globalThis.setTimeout = ((fn: (...a: unknown[]) => void, ms?: number, ...args: unknown[]) => {
    const caller = new Error().stack?.split("\n")[2] ?? "";
    if (!ours.test(caller)) return realSet(fn, ms, ...args);
    const timer = realSet(
      (...a: unknown[]) => {
        pending.delete(timer);
        fn(...a);
      },
      ms,
      ...args,
    );
    pending.add(timer);
    return timer;
  }) as typeof setTimeout;
  globalThis.clearTimeout = ((timer: Parameters<typeof clearTimeout>[0]) => {
    pending.delete(timer);
    realClear(timer);
  }) as typeof clearTimeout;
  return {
    pending,
    restore() {
      globalThis.setTimeout = realSet;
      globalThis.clearTimeout = realClear;
    },
  };
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
    const { system: s, realtime: rt, socketClient } = await start(app, { gapFillMs: 300 });
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

  it("reads the backlog from the table: the server confirms a subscription and pushes no earlier event", async () => {
    // Arrange: a finished run and no fanout, so any event frame would be a backlog sent by the server.
    const { app, chatty } = appWithJobs();
    const { system: s, realtime: rt, socketClient } = await start(app);
    const run = await s.client.trigger(chatty, { n: 3 });
    const all = await collect(s.client.observeRunEvents(run.runId));
    s.fanout.enabled = false; // records of the run still on the stream would be pushed too
    const { ws, next, frames } = await rawSocket(rt.url, { Authorization: `Bearer ${rt.token}` });
    // Act
    ws.send(JSON.stringify({ action: "subscribe", runId: run.runId }));
    const confirmation = await next();
    await sleep(300);
    const viaSocket = await collect(socketClient.observeRunEvents(run.runId));
    // Assert
    expect(confirmation).toEqual({ type: "subscribed", runId: run.runId });
    expect(frames).toEqual([]);
    expect(viaSocket).toEqual(all);
    ws.close();
  });

  it("run() over the WebSocket resolves within the idle safety interval when the fanout stops mid-run", async () => {
    // Arrange: the run is Running and its observer subscribed and read the backlog, then the fanout stops.
    const { app, gated, held, progress } = appWithJobs();
    const safetyReadMs = 1_500;
    const { system: s, realtime: rt, socketClient, store } = await start(app, { safetyReadMs });
    const result = socketClient.run(gated);
    await until(async () => progress.runId !== undefined && store.reads >= 1);
    expect(await subscribers(s.store, progress.runId as string)).toHaveLength(1);
    expect(rt.server.connections.size).toBe(1);
    s.fanout.enabled = false;
    // Act
    held.open();
    const value = await result;
    const settledAtMs = Date.now();
    // Assert: one safety interval (plus one table read) after the handler returned.
    expect(value).toBe("done");
    expect(settledAtMs - (progress.finishedAtMs as number)).toBeLessThanOrEqual(safetyReadMs + 1_000);
  }, 20_000);

  it("without the idle safety read, run() stalls when the fanout stops (the case the read ends)", async () => {
    // Arrange: as above, with a safety interval far beyond the test.
    const { app, gated, held, progress } = appWithJobs();
    const { system: s, socketClient, store } = await start(app, { safetyReadMs: 600_000 });
    const abort = new AbortController();
    let settled = false;
    const result = socketClient.run(gated, undefined, { signal: abort.signal }).finally(() => {
      settled = true;
    });
    await until(async () => progress.runId !== undefined && store.reads >= 1);
    s.fanout.enabled = false;
    // Act
    held.open();
    await until(async () => (await s.store.get(progress.runId as string))?.status === "Succeeded");
    await sleep(2 * 1_500 + 1_000);
    // Assert: twice the bound of the test above has passed, and run() still waits.
    expect(settled).toBe(false);
    abort.abort(new Error("stop waiting"));
    await expect(result).rejects.toThrow("stop waiting");
  });

  it("leaves no timer behind once an observation ends or is aborted", async () => {
    // Arrange
    const { app, chatty, gated, held, progress } = appWithJobs();
    const { system: s, socketClient } = await start(app, { gapFillMs: 100, safetyReadMs: 300 });
    const finished = await s.client.trigger(chatty, { n: 10 });
    const running = await s.client.trigger(gated);
    const timers = trackObserverTimers();
    try {
      // Act
      const events = await collect(socketClient.observeRunEvents(finished.runId));
      const afterEnd = [...timers.pending];
      await until(() => progress.runId !== undefined);
      const abort = new AbortController();
      const observing = collect(socketClient.observeRunEvents(running.runId, { signal: abort.signal }));
      await sleep(800); // a few safety reads
      abort.abort(new Error("done watching"));
      await expect(observing).rejects.toThrow("done watching");
      // Assert
      expect(events.at(-1)).toMatchObject({ type: "status", status: "Succeeded" });
      expect(afterEnd).toEqual([]);
      expect([...timers.pending]).toEqual([]);
    } finally {
      timers.restore();
      held.open();
    }
  });
});

describe("WebSocket authorization", () => {
  it("refuses a wrong bearer token (401) and a token in the query string (400)", async () => {
    const { app, chatty } = appWithJobs();
    const { system: s, realtime: rt } = await start(app);
    await expect(rawSocket(rt.url, { Authorization: "Bearer wrong-token" })).rejects.toThrow("HTTP 401");
    await expect(rawSocket(rt.url, { Authorization: rt.token })).rejects.toThrow("HTTP 401");
    await expect(rawSocket(`${rt.url}/?token=${rt.token}`)).rejects.toThrow("HTTP 400");
    // The SDK sends the token in the header, never in the URL: the right one observes, a wrong one is refused.
    const run = await s.client.trigger(chatty, { n: 1 });
    const wrong = new JobClient({
      store: s.store,
      dispatcher: s.dispatcher,
      webSocket: { url: rt.url, token: "wrong-token" },
    });
    await expect(collect(wrong.observeRunEvents(run.runId))).rejects.toBeInstanceOf(SubscriptionError);
  });

  it("lets a connection without credentials (a browser) subscribe only with an unexpired subscription token for that run", async () => {
    // Arrange
    const { app, chatty } = appWithJobs();
    const { system: s, realtime: rt } = await start(app);
    const run = await s.client.trigger(chatty, { n: 2 });
    const other = await s.client.trigger(chatty, { n: 1 });
    const { ws, nextReply } = await rawSocket(rt.url);
    const subscribe = (token?: string) =>
      ws.send(JSON.stringify({ action: "subscribe", runId: run.runId, ...(token ? { token } : {}) }));
    // Act + Assert
    subscribe();
    expect(await nextReply()).toMatchObject({ type: "error", code: "Unauthorized" });
    subscribe(createSubscriptionToken(rt.token, other.runId));
    expect(await nextReply()).toMatchObject({ type: "error", code: "Unauthorized" });
    subscribe(createSubscriptionToken(rt.token, run.runId, { nowMs: Date.now() - 120_000, ttlMs: 60_000 }));
    expect(await nextReply()).toMatchObject({ type: "error", code: "Unauthorized" });
    subscribe(createSubscriptionToken("another-secret", run.runId));
    expect(await nextReply()).toMatchObject({ type: "error", code: "Unauthorized" });
    expect(await subscribers(s.store, run.runId)).toEqual([]);
    subscribe(createSubscriptionToken(rt.token, run.runId));
    expect(await nextReply()).toEqual({ type: "subscribed", runId: run.runId });
    expect(await subscribers(s.store, run.runId)).toHaveLength(1);
    ws.close();
  });

  it("answers an unknown run and a malformed message with error frames and stays usable", async () => {
    const { app, chatty } = appWithJobs();
    const { system: s, realtime: rt, socketClient } = await start(app);
    const { ws, nextReply } = await rawSocket(rt.url, { Authorization: `Bearer ${rt.token}` });
    ws.send("{not json");
    expect(await nextReply()).toMatchObject({
      type: "error",
      code: "BadRequest",
      message: "message is not JSON",
    });
    ws.send(JSON.stringify({ action: "subscribe", runId: "no-such-run" }));
    expect(await nextReply()).toMatchObject({ type: "error", code: "RunNotFound" });
    ws.send(JSON.stringify({ action: "subscribe", runId: "x", token: 5 }));
    expect(await nextReply()).toMatchObject({ type: "error", code: "BadRequest" });
    const run = await s.client.trigger(chatty, { n: 1 });
    ws.send(JSON.stringify({ action: "subscribe", runId: run.runId }));
    expect(await nextReply()).toEqual({ type: "subscribed", runId: run.runId });
    ws.close();
    await expect(collect(socketClient.observeRunEvents("no-such-run"))).rejects.toBeInstanceOf(
      RunNotFoundError,
    );
  });
});
