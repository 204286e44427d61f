/**
 * Event items (`sdk/src/store/event-item.ts`): every body round-trips through its stored
 * form; data arrays (log lines, output and input items) are JSON text, Brotli-compressed
 * (`dataZ`) from 200 characters on when that is smaller.
 */
import { brotliDecompressSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import type { LogLine, RunEventBody } from "../../sdk/src/domain/run-event.js";
import { compressAboveBytes, isDataEvent, toEventItem, toRunEvent } from "../../sdk/src/store/event-item.js";

const atMs = Date.parse("2030-01-01T00:00:05.250Z");
const roundTrip = (body: RunEventBody) => toRunEvent(toEventItem("R1", 7, 2, body, atMs));
const identity = { runId: "R1", eventId: 7, attempt: 2, at: "2030-01-01T00:00:05.250Z" };
const line = (i: number): LogLine => ({
  at: new Date(atMs + i).toISOString(),
  level: "info",
  message: `processed batch ${i} of 40: 100 records, 0 errors`,
});

describe("toEventItem", () => {
  it("keys the item by run and zero-padded event id", () => {
    const item = toEventItem("R1", 7, 2, { type: "progress", progress: 0.5 }, atMs);
    expect(item).toEqual({
      pk: "RUN#R1",
      sk: "EVT#000000000007",
      kind: "event",
      runId: "R1",
      eventId: 7,
      attempt: 2,
      atMs,
      body: { type: "progress", progress: 0.5 },
    });
  });

  it("keeps short log text as JSON", () => {
    const item = toEventItem("R1", 3, 1, { type: "log", lines: [line(0)] }, atMs);
    expect(item.body).toEqual({ type: "log" });
    expect(item.dataZ).toBeUndefined();
    expect(JSON.parse(item.data ?? "")).toEqual([line(0)]);
  });

  it("compresses log text of 200 characters or more, to a fraction of its size", () => {
    // Arrange
    const lines = Array.from({ length: 40 }, (_, i) => line(i));
    const json = JSON.stringify(lines);
    // Act
    const item = toEventItem("R1", 3, 1, { type: "log", lines }, atMs);
    // Assert
    expect(json.length).toBeGreaterThanOrEqual(compressAboveBytes);
    expect(item.data).toBeUndefined();
    expect(item.dataZ).toBeInstanceOf(Uint8Array);
    expect(item.dataZ?.length ?? Number.POSITIVE_INFINITY).toBeLessThan(json.length / 3);
    expect(brotliDecompressSync(item.dataZ as Uint8Array).toString("utf8")).toBe(json);
  });

  it("keeps data just under the threshold uncompressed", () => {
    const items = ["x".repeat(compressAboveBytes - 5)];
    expect(JSON.stringify(items).length).toBe(compressAboveBytes - 1);
    const item = toEventItem("R1", 3, 1, { type: "output", items }, atMs);
    expect(item.data).toBe(JSON.stringify(items));
    expect(item.dataZ).toBeUndefined();
  });

  it("stores data compressed only when that is fewer UTF-8 bytes (what DynamoDB bills), and round-trips it", () => {
    // Arrange: pseudo-random CJK characters (three UTF-8 bytes each), random-looking ASCII, and repetitive text
    let seed = 42;
    const next = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed;
    };
    const cjk = Array.from({ length: 300 }, () => String.fromCharCode(0x4e00 + (next() % 20_000))).join("");
    const ascii = Array.from({ length: 300 }, () => String.fromCharCode(33 + (next() % 94))).join("");
    const repetitive = "processed order 42 ".repeat(30);
    for (const text of [cjk, ascii, repetitive]) {
      // Act
      const item = toEventItem("R1", 3, 1, { type: "output", items: [text] }, atMs);
      // Assert
      const jsonBytes = Buffer.byteLength(JSON.stringify([text]), "utf8");
      if (item.dataZ) expect(item.dataZ.length).toBeLessThan(jsonBytes);
      else expect(item.data).toBe(JSON.stringify([text]));
      expect(toRunEvent(item)).toMatchObject({ type: "output", items: [text] });
    }
    // CJK text is 3 bytes a character: it compresses in bytes although not in characters.
    expect(toEventItem("R1", 3, 1, { type: "output", items: [cjk] }, atMs).dataZ).toBeDefined();
  });
});

describe("toRunEvent round trips", () => {
  it.each<[string, RunEventBody]>([
    [
      "a short log",
      { type: "log", lines: [line(1), { at: line(2).at, level: "error", message: "failed: ✗ naïve" }] },
    ],
    ["a long log", { type: "log", lines: Array.from({ length: 100 }, (_, i) => line(i)) }],
    [
      "output items of every JSON kind",
      { type: "output", items: [1, 0.5, -3e-7, "s", null, true, [1, [2]], { a: { b: [] } }] },
    ],
    [
      "unicode output",
      {
        type: "output",
        items: ["héllo wörld", "日本語のテキスト", "emoji 🎉🚀", "\u0000\u001f\u2028", "𝒳".repeat(150)],
      },
    ],
    ["empty output", { type: "output", items: [] }],
    [
      "input items",
      {
        type: "input",
        name: "rows",
        items: Array.from({ length: 60 }, (_, i) => ({ row: i, name: `row ${i}` })),
      },
    ],
    [
      "a status",
      {
        type: "status",
        status: "Pending",
        reason: "retry",
        error: { type: "Error", message: "x" },
        retryAt: "2030-01-01T00:00:10.000Z",
      },
    ],
    ["progress", { type: "progress", progress: 0.25 }],
    ["outputComplete", { type: "outputComplete", count: 3 }],
    [
      "inputComplete with an error",
      { type: "inputComplete", name: "rows", error: { type: "Error", message: "source failed" } },
    ],
  ])("restores %s exactly, with its identity", (_name, body) => {
    expect(roundTrip(body)).toEqual({ ...body, ...identity });
  });

  it("restores large unicode output from its compressed form", () => {
    // Arrange
    const items = Array.from({ length: 50 }, (_, i) => ({ i, text: `ünïcödé ${"日本".repeat(i % 5)} 🎉` }));
    // Act
    const item = toEventItem("R1", 9, 1, { type: "output", items }, atMs);
    // Assert
    expect(item.dataZ).toBeDefined();
    expect(toRunEvent(item)).toEqual({
      type: "output",
      items,
      runId: "R1",
      eventId: 9,
      attempt: 1,
      at: identity.at,
    });
  });

  it("reads a data event stored without data as empty", () => {
    const item = { ...toEventItem("R1", 7, 2, { type: "output", items: [1] }, atMs), data: undefined };
    expect(toRunEvent(item)).toMatchObject({ type: "output", items: [] });
  });
});

describe("isDataEvent", () => {
  it("is true for everything but status events", () => {
    expect(isDataEvent({ type: "status" })).toBe(false);
    for (const type of ["log", "progress", "output", "outputComplete", "input", "inputComplete"] as const) {
      expect(isDataEvent({ type })).toBe(true);
    }
  });
});
