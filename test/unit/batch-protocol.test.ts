/**
 * Pure parts of batches: event id cursors (opaque, one position per counters shard),
 * counter shards, and the WebSocket protocol's batch subscriptions.
 */
import { describe, expect, it } from "vitest";
import { formatCursor, parseCursor, readUpTo } from "../../sdk/src/batches/batch-events.js";
import { ValidationError } from "../../sdk/src/errors.js";
import { parseClientMessage } from "../../sdk/src/realtime/protocol.js";
import { counterShards, shardOfOrdinal } from "../../sdk/src/store/batch-record.js";

describe("batch event ids", () => {
  /** The event id of batch "b-1" at these positions: `[items, entries]` per shard. */
  const id = (...positions: [number, number][]) =>
    formatCursor(
      "b-1",
      positions.map(([items, entries]) => ({ items, entries })),
    );

  it("start at every shard's beginning and parse back what they encode", () => {
    expect(parseCursor(undefined, "b-1", 3)).toEqual([
      { items: 0, entries: 0 },
      { items: 0, entries: 0 },
      { items: 0, entries: 0 },
    ]);
    expect(id([4, 0], [0, 2], [7, 0])).toMatch(/^b1:[0-9a-f]{8}:4\.0-2\.7$/);
    expect(parseCursor(id([4, 0], [0, 2], [7, 0]), "b-1", 3)).toEqual([
      { items: 4, entries: 0 },
      { items: 0, entries: 2 },
      { items: 7, entries: 0 },
    ]);
  });

  it("rejects an id of another batch, of another batch shape, or a made-up one", () => {
    expect(() => parseCursor(id([4, 0], [2, 0]), "b-2", 2)).toThrow(/is not an event id of this batch/);
    expect(() => parseCursor(id([4, 0], [2, 0]), "b-1", 3)).toThrow(ValidationError);
    expect(() => parseCursor("41", "b-1", 1)).toThrow(/is not an event id of this batch/);
    expect(() => parseCursor(id([4, 0]).replace(/4$/, "x"), "b-1", 1)).toThrow(ValidationError);
  });

  it("has read up to the shards' sequences only when every shard has", () => {
    expect(readUpTo(parseCursor(id([4, 0], [2, 0]), "b-1", 2), [4, 2])).toBe(true);
    expect(readUpTo(parseCursor(id([4, 0], [1, 3]), "b-1", 2), [4, 2])).toBe(false);
  });
});

describe("counter shards", () => {
  it("take one shard per 1,000 children, at most 16, and spread ordinals evenly", () => {
    expect([1, 1000, 1001, 10_000, 100_000].map(counterShards)).toEqual([1, 1, 2, 10, 16]);
    const perShard = new Array(16).fill(0);
    for (let o = 0; o < 10_000; o++) perShard[shardOfOrdinal(o, 16)]++;
    expect(Math.max(...perShard) - Math.min(...perShard)).toBeLessThanOrEqual(1);
  });
});

describe("batch subscriptions in the WebSocket protocol", () => {
  it("accepts a batchId, and refuses a message naming both a run and a batch", () => {
    expect(parseClientMessage(JSON.stringify({ action: "subscribe", batchId: "B1" }))).toEqual({
      action: "subscribe",
      batchId: "B1",
    });
    expect(parseClientMessage(JSON.stringify({ action: "unsubscribe", batchId: "B1" }))).toEqual({
      action: "unsubscribe",
      batchId: "B1",
    });
    expect(
      parseClientMessage(JSON.stringify({ action: "subscribe", runId: "R", batchId: "B" })),
    ).toMatchObject({
      type: "error",
      code: "BadRequest",
    });
  });
});
