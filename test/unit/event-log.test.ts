/**
 * Reading a run's event log (`sdk/src/store/event-log.ts`) through `store.events` on
 * DynamoDB Local, from hand-written run and event items: event items merged with the
 * run's inline status events, one total order, the rules of the module comment.
 */
import { PutCommand } from "@aws-sdk/lib-dynamodb";
import { beforeAll, describe, expect, it } from "vitest";
import { connect } from "../../sdk/src/connect.js";
import type { RunEvent, RunEventBody } from "../../sdk/src/domain/run-event.js";
import { toEventItem } from "../../sdk/src/store/event-item.js";
import type { RunItem } from "../../sdk/src/store/run-item.js";
import type { RunStore } from "../../sdk/src/store/run-store.js";
import { createTestResources } from "../support/local-resources.js";
import { createdMs, runItem } from "./run-item-factory.js";

let store: RunStore;
let next = 0;

beforeAll(async () => {
  store = connect(await createTestResources()).store;
});

const log = (message: string): RunEventBody => ({
  type: "log",
  lines: [{ at: "2030-01-01T00:00:01.000Z", level: "info", message }],
});
const running: RunEventBody = { type: "status", status: "Running" };

/** Writes the run item and the event items `[eventId, attempt, body]`; returns the run id. */
async function write(run: Partial<RunItem>, events: [number, number, RunEventBody][]): Promise<string> {
  const runId = `01LOG${String(next++).padStart(4, "0")}`;
  const put = (Item: Record<string, unknown>) =>
    store.doc.send(new PutCommand({ TableName: store.tableName, Item }));
  await put({ ...runItem({ runId, ...run }) });
  for (const [id, attempt, body] of events)
    await put({ ...toEventItem(runId, id, attempt, body, createdMs + id) });
  return runId;
}

async function read(runId: string, since = 0): Promise<string[]> {
  const all: RunEvent[] = [];
  for await (const event of store.events(runId, since)) all.push(event);
  return all.map((e) => `${e.eventId}:${e.type === "status" ? e.status : e.type}@${e.attempt}`);
}

/** A run held by attempt `attempt`, its Running event inline at `startSeq`. */
const held = (attempt: number, startSeq: number): Partial<RunItem> => ({
  status: "Running",
  attempt,
  seq: startSeq,
  startSeq,
  statusInline: true,
  startedMs: createdMs + 1_000,
  workerId: "w1",
});

describe("store.events", () => {
  it("yields the inline creation event alone for a new run", async () => {
    const runId = await write({}, []);
    expect(await read(runId)).toEqual(["1:Pending@0"]);
  });

  it("merges the inline Pending and Running events with the holder's data events", async () => {
    const runId = await write(held(1, 2), [
      [3, 1, log("a")],
      [4, 1, { type: "progress", progress: 0.5 }],
    ]);
    expect(await read(runId)).toEqual(["1:Pending@0", "2:Running@1", "3:log@1", "4:progress@1"]);
  });

  it("yields only the unbroken prefix while the run is not terminal (an event still being written)", async () => {
    // Arrange: 5 is missing (its write has not landed yet)
    const runId = await write(held(1, 2), [
      [3, 1, log("a")],
      [4, 1, log("b")],
      [6, 1, log("d")],
    ]);
    // Act + Assert
    expect(await read(runId)).toEqual(["1:Pending@0", "2:Running@1", "3:log@1", "4:log@1"]);
    expect(await read(runId, 4)).toEqual([]);
  });

  it("stops at a terminal run's seq, ignoring events written after it", async () => {
    // Arrange: Succeeded inline at 4; a late write landed at 5
    const runId = await write(
      { ...held(1, 2), status: "Succeeded", seq: 4, completedMs: createdMs + 2_000 },
      [
        [3, 1, log("a")],
        [5, 1, log("too late")],
      ],
    );
    // Act + Assert
    expect(await read(runId)).toEqual(["1:Pending@0", "2:Running@1", "3:log@1", "4:Succeeded@1"]);
  });

  it("skips a hole below a terminal run's last event (a write that failed for good)", async () => {
    const runId = await write({ ...held(1, 2), status: "Failed", seq: 5, completedMs: createdMs + 2_000 }, [
      [3, 1, log("a")],
    ]);
    expect(await read(runId)).toEqual(["1:Pending@0", "2:Running@1", "3:log@1", "5:Failed@1"]);
  });

  it("reads a terminal status stored as an event item (written by another writer)", async () => {
    // Arrange: a cancel materialized Running 2 and Canceled 4; the run item carries neither inline
    const runId = await write(
      {
        status: "Canceled",
        attempt: 1,
        seq: 4,
        cancelReason: "stop",
        startedMs: createdMs + 1_000,
        completedMs: createdMs + 2_000,
      },
      [
        [2, 1, running],
        [3, 1, log("a")],
        [4, 1, { type: "status", status: "Canceled", reason: "stop" }],
      ],
    );
    // Act + Assert
    expect(await read(runId)).toEqual(["1:Pending@0", "2:Running@1", "3:log@1", "4:Canceled@1"]);
  });

  it("prefers the inline status event over an event item with the same id", async () => {
    // Arrange: a stale writer's data event at 2, the id the claim gave the Running event
    const runId = await write(held(1, 2), [[2, 0, log("stale")]]);
    // Act
    const all: RunEvent[] = [];
    for await (const event of store.events(runId)) all.push(event);
    // Assert
    expect(all.map((e) => e.type)).toEqual(["status", "status"]);
    expect(all[1]).toMatchObject({ eventId: 2, status: "Running", attempt: 1 });
  });

  it("drops an earlier attempt's data events written after the current attempt started, keeping the order", async () => {
    // Arrange: attempt 1 (Running 2, log 3) was retried (Pending 4); attempt 2 started at 5;
    // a stale worker of attempt 1 still wrote at 6; attempt 2 wrote 7
    const runId = await write(held(2, 5), [
      [2, 1, running],
      [3, 1, log("attempt 1")],
      [4, 1, { type: "status", status: "Pending", reason: "retry" }],
      [6, 1, log("stale")],
      [7, 2, log("attempt 2")],
    ]);
    // Act + Assert: 3 (attempt 1, before the start) stays; 6 is dropped without breaking the run of ids
    expect(await read(runId)).toEqual([
      "1:Pending@0",
      "2:Running@1",
      "3:log@1",
      "4:Pending@1",
      "5:Running@2",
      "7:log@2",
    ]);
  });

  it("keeps dropping a stale attempt's event after another writer ends the current attempt", async () => {
    // Arrange: attempt 2 started at 5; attempt 1's stale log at 6; a cancel at 8 materialized 5 and 8
    const canceled: RunEventBody = { type: "status", status: "Canceled", reason: "by request" };
    const runId = await write(
      { ...held(2, 5), status: "Canceled", seq: 8, statusInline: undefined, cancelReason: "by request" },
      [
        [2, 1, running],
        [3, 1, log("a")],
        [4, 1, { type: "status", status: "Pending", reason: "retry" }],
        [5, 2, running],
        [6, 1, log("stale")],
        [7, 2, log("b")],
        [8, 2, canceled],
      ],
    );
    // Act, assert
    expect(await read(runId)).toEqual([
      "1:Pending@0",
      "2:Running@1",
      "3:log@1",
      "4:Pending@1",
      "5:Running@2",
      "7:log@2",
      "8:Canceled@2",
    ]);
  });

  it("yields only the events after sinceEventId", async () => {
    const runId = await write(
      { ...held(1, 2), status: "Succeeded", seq: 5, completedMs: createdMs + 2_000 },
      [
        [3, 1, log("a")],
        [4, 1, log("b")],
      ],
    );
    expect(await read(runId, 3)).toEqual(["4:log@1", "5:Succeeded@1"]);
    expect(await read(runId, 5)).toEqual([]);
  });

  it("yields nothing for a run that does not exist", async () => {
    expect(await read("01LOGMISSING")).toEqual([]);
  });
});
