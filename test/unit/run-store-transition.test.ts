/**
 * `RunStore.transition` against DynamoDB Local: the write each kind of transition makes
 * and the event log it leaves (`sdk/src/store/run-store.ts`).
 *
 * - the attempt's holder (own writer): one `UpdateItem`, the status event inline; a
 *   retry is a transaction that materializes the attempt's `Running` event and the new
 *   `Pending` event as event items;
 * - another writer on a Running run: a transaction materializing both;
 * - another writer on a Pending run: one `UpdateItem`, inline (and no read of the log
 *   before the first claim, when the log has no event item);
 * - a terminal transition frees the deduplication lock in the same write.
 */
import { GetCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { connect } from "../../sdk/src/connect.js";
import type { RunEvent, RunEventBody } from "../../sdk/src/domain/run-event.js";
import { cancel, failAttempt, succeed, type Transition } from "../../sdk/src/domain/transitions.js";
import { claimRun } from "../../sdk/src/store/claim.js";
import { dedupKey, runPk } from "../../sdk/src/store/keys.js";
import { newRunItem } from "../../sdk/src/store/run-factory.js";
import type { RunItem } from "../../sdk/src/store/run-item.js";
import type { RunStore } from "../../sdk/src/store/run-store.js";
import { createTestResources } from "../support/local-resources.js";
import { createdMs, runFields } from "./run-item-factory.js";

let store: RunStore;
let next = 0;
const now = createdMs + 10_000;
const boom = { type: "Error", message: "boom" };
const log = (message: string): RunEventBody => ({
  type: "log",
  lines: [{ at: "2030-01-01T00:00:01.000Z", level: "info", message }],
});

beforeAll(async () => {
  store = connect(await createTestResources()).store;
});

/** The transition, which must apply. */
function must(transition: Transition | undefined): Transition {
  if (!transition) throw new Error("the transition should apply");
  return transition;
}

afterEach(() => {
  vi.restoreAllMocks();
});

/** A new Pending run (stored through `create`). */
async function created(fields: Parameters<typeof runFields>[0] = {}): Promise<RunItem> {
  const runId = `01TRANS${String(next++).padStart(4, "0")}`;
  return store.create(newRunItem(runFields({ runId, ...fields }), false));
}

/** Claims `run` (at its attempt) and writes `data` as the holder's events; returns the claimed run and the holder's last id. */
async function claimed(
  run: RunItem,
  data: RunEventBody[] = [],
): Promise<{ run: RunItem; lastEventId: number }> {
  const outcome = await claimRun(store, {
    runId: run.runId,
    attempt: run.attempt,
    workerId: "w1",
    nowMs: now,
  });
  if (!("claimed" in outcome)) throw new Error("the claim should succeed");
  const first = (outcome.claimed.startSeq as number) + 1;
  expect(await store.putEvents(run.runId, outcome.claimed.attempt, first, data)).toBe(data.length);
  return { run: outcome.claimed, lastEventId: first + data.length - 1 };
}

/** Records the commands sent to DynamoDB from now on, by name. */
function recordCommands(): string[] {
  const names: string[] = [];
  const send = store.doc.send.bind(store.doc);
  vi.spyOn(store.doc, "send").mockImplementation(((command: { constructor: { name: string } }) => {
    names.push(command.constructor.name);
    return send(command as never);
  }) as never);
  return names;
}

/** Event items stored for the run: id, attempt and what each is. */
async function eventItems(runId: string): Promise<string[]> {
  const out = await store.doc.send(
    new QueryCommand({
      TableName: store.tableName,
      KeyConditionExpression: "pk = :pk AND begins_with(sk, :evt)",
      ExpressionAttributeValues: { ":pk": runPk(runId), ":evt": "EVT#" },
      ConsistentRead: true,
    }),
  );
  return (out.Items ?? []).map(
    (i) => `${i.eventId}:${i.body.type === "status" ? i.body.status : i.body.type}`,
  );
}

async function events(runId: string): Promise<RunEvent[]> {
  const all: RunEvent[] = [];
  for await (const event of store.events(runId)) all.push(event);
  return all;
}

/** The log as `id:status-or-type@attempt`. */
const summary = (log: RunEvent[]) =>
  log.map((e) => `${e.eventId}:${e.type === "status" ? e.status : e.type}@${e.attempt}`);

async function lockOf(jobName: string, deduplicationId: string) {
  const out = await store.doc.send(
    new GetCommand({
      TableName: store.tableName,
      Key: dedupKey(jobName, deduplicationId),
      ConsistentRead: true,
    }),
  );
  return out.Item;
}

describe("the attempt's holder (own writer)", () => {
  it("completes with one UpdateItem, its status event inline after its data events", async () => {
    // Arrange
    const { run, lastEventId } = await claimed(await created(), [
      log("a"),
      { type: "progress", progress: 0.5 },
    ]);
    const commands = recordCommands();
    // Act
    const outcome = await store.transition(run, must(succeed(run, 1, { resultJson: "3" }, now)), {
      lastEventId,
    });
    // Assert
    expect(commands).toEqual(["UpdateCommand"]);
    expect(outcome).toMatchObject({
      stored: { status: "Succeeded", seq: 5, startSeq: 2, statusInline: true },
    });
    expect(await store.get(run.runId)).toEqual("stored" in outcome ? outcome.stored : undefined);
    expect(await eventItems(run.runId)).toEqual(["3:log", "4:progress"]);
    expect(summary(await events(run.runId))).toEqual([
      "1:Pending@0",
      "2:Running@1",
      "3:log@1",
      "4:progress@1",
      "5:Succeeded@1",
    ]);
  });

  it("retries in one transaction that materializes the attempt's Running event and the new Pending event", async () => {
    // Arrange
    const { run, lastEventId } = await claimed(await created(), [log("a"), log("b")]);
    const commands = recordCommands();
    // Act
    const outcome = await store.transition(run, must(failAttempt(run, 1, boom, now + 1_000, now)), {
      lastEventId,
    });
    // Assert
    expect(commands).toEqual(["TransactWriteCommand"]);
    const stored = "stored" in outcome ? outcome.stored : undefined;
    expect(stored).toMatchObject({
      status: "Pending",
      attempt: 1,
      seq: 5,
      enqueueCount: 2,
      statusReason: "retry",
    });
    // startSeq stays: the Running event is rebuilt from it too, and stale events after it stay dropped
    expect(stored).toMatchObject({ startSeq: 2 });
    expect(stored).not.toHaveProperty("statusInline");
    expect(await store.get(run.runId)).toEqual(stored);
    expect(await eventItems(run.runId)).toEqual(["2:Running", "3:log", "4:log", "5:Pending"]);
    const log5 = await events(run.runId);
    expect(summary(log5)).toEqual(["1:Pending@0", "2:Running@1", "3:log@1", "4:log@1", "5:Pending@1"]);
    expect(log5[4]).toMatchObject({
      reason: "retry",
      error: boom,
      retryAt: new Date(now + 1_000).toISOString(),
    });
    expect(log5[1]?.at).toBe(new Date(now).toISOString());
  });

  it("continues the log without a gap through a retry and the next attempt", async () => {
    // Arrange: attempt 1 logs and fails with a retry
    const first = await claimed(await created(), [log("a")]);
    const retried = await store.transition(first.run, must(failAttempt(first.run, 1, boom, now, now)), {
      lastEventId: first.lastEventId,
    });
    if (!("stored" in retried)) throw new Error("the retry should commit");
    // Act: attempt 2 claims, logs and succeeds
    const second = await claimed(retried.stored, [log("b")]);
    const commands = recordCommands();
    const done = await store.transition(second.run, must(succeed(second.run, 2, {}, now)), {
      lastEventId: second.lastEventId,
    });
    // Assert
    expect(commands).toEqual(["UpdateCommand"]);
    expect(second.run).toMatchObject({ attempt: 2, startSeq: 5, seq: 5 });
    expect(done).toMatchObject({ stored: { status: "Succeeded", seq: 7, startSeq: 5, statusInline: true } });
    expect(summary(await events(first.run.runId))).toEqual([
      "1:Pending@0",
      "2:Running@1",
      "3:log@1",
      "4:Pending@1",
      "5:Running@2",
      "6:log@2",
      "7:Succeeded@2",
    ]);
  });
});

describe("another writer (a cancel, a recovery)", () => {
  it("cancels a Running run in a transaction materializing its Running event and the Canceled event", async () => {
    // Arrange
    const { run } = await claimed(await created(), [log("a"), log("b"), { type: "output", items: [1, 2] }]);
    const commands = recordCommands();
    // Act: no own writer; the next id is read from the log
    const outcome = await store.transition(run, must(cancel(run, "canceled by request", now)));
    // Assert
    expect(commands).toEqual(["QueryCommand", "TransactWriteCommand"]);
    const stored = "stored" in outcome ? outcome.stored : undefined;
    expect(stored).toMatchObject({
      status: "Canceled",
      seq: 6,
      startSeq: 2,
      cancelReason: "canceled by request",
    });
    expect(stored).not.toHaveProperty("statusInline");
    expect(await eventItems(run.runId)).toEqual(["2:Running", "3:log", "4:log", "5:output", "6:Canceled"]);
    const log6 = await events(run.runId);
    expect(summary(log6)).toEqual([
      "1:Pending@0",
      "2:Running@1",
      "3:log@1",
      "4:log@1",
      "5:output@1",
      "6:Canceled@1",
    ]);
    expect(log6.map((e) => e.eventId)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(log6[5]).toMatchObject({ reason: "canceled by request" });
  });

  it("cancels a never-claimed Pending run with one UpdateItem and no read of the log, the Canceled event inline", async () => {
    // Arrange
    const run = await created();
    const commands = recordCommands();
    // Act
    const outcome = await store.transition(run, must(cancel(run, "stop", now)));
    // Assert
    expect(commands).toEqual(["UpdateCommand"]);
    expect(outcome).toMatchObject({
      stored: { status: "Canceled", seq: 2, statusInline: true, completedMs: now },
    });
    expect(await eventItems(run.runId)).toEqual([]);
    const log2 = await events(run.runId);
    expect(summary(log2)).toEqual(["1:Pending@0", "2:Canceled@0"]);
    expect(log2[1]).toMatchObject({ reason: "stop", at: new Date(now).toISOString() });
  });

  it("cancels a retried Pending run inline, one id past its materialized Pending event", async () => {
    // Arrange
    const first = await claimed(await created(), [log("a")]);
    const retried = await store.transition(
      first.run,
      must(failAttempt(first.run, 1, boom, now + 60_000, now)),
      {
        lastEventId: first.lastEventId,
      },
    );
    if (!("stored" in retried)) throw new Error("the retry should commit");
    // Act
    const outcome = await store.transition(retried.stored, must(cancel(retried.stored, "stop", now)));
    // Assert
    expect(outcome).toMatchObject({ stored: { status: "Canceled", seq: 5, statusInline: true } });
    expect(summary(await events(first.run.runId))).toEqual([
      "1:Pending@0",
      "2:Running@1",
      "3:log@1",
      "4:Pending@1",
      "5:Canceled@1",
    ]);
  });

  it("takes the next free id when another writer took the one it chose", async () => {
    // Arrange: the log's end as read is stale (a data event landed at 4 since)
    const { run } = await claimed(await created(), [log("a"), log("b")]);
    vi.spyOn(store, "lastEventId").mockResolvedValueOnce(3);
    // Act
    const outcome = await store.transition(run, must(cancel(run, "stop", now)));
    // Assert
    expect(outcome).toMatchObject({ stored: { status: "Canceled", seq: 5 } });
    expect(summary(await events(run.runId))).toEqual([
      "1:Pending@0",
      "2:Running@1",
      "3:log@1",
      "4:log@1",
      "5:Canceled@1",
    ]);
  });
});

describe("lost races", () => {
  it("returns the run as it now is when a Pending run was claimed since it was read (single update)", async () => {
    // Arrange
    const read = await created();
    const { run: running } = await claimed(read);
    // Act
    const outcome = await store.transition(read, must(cancel(read, "stop", now)));
    // Assert
    expect(outcome).toEqual({ current: running });
    expect(await store.get(read.runId)).toEqual(running);
  });

  it("returns the run as it now is when a Running run was retried since it was read (transaction)", async () => {
    // Arrange
    const { run, lastEventId } = await claimed(await created());
    const retried = await store.transition(run, must(failAttempt(run, 1, boom, now + 60_000, now)), {
      lastEventId,
    });
    // Act: a cancel decided on the Running run as read
    const outcome = await store.transition(run, must(cancel(run, "stop", now)));
    // Assert
    expect(outcome).toEqual({ current: "stored" in retried ? retried.stored : "missing" });
    expect(await eventItems(run.runId)).toEqual(["2:Running", "3:Pending"]);
  });

  it("refuses the holder's completion after another writer canceled the run, writing nothing", async () => {
    // Arrange
    const { run, lastEventId } = await claimed(await created(), [log("a")]);
    const canceled = await store.transition(run, must(cancel(run, "stop", now)));
    // Act
    const outcome = await store.transition(run, must(succeed(run, 1, { resultJson: "1" }, now)), {
      lastEventId,
    });
    // Assert
    expect(outcome).toEqual({ current: "stored" in canceled ? canceled.stored : "missing" });
    expect(summary(await events(run.runId))).toEqual([
      "1:Pending@0",
      "2:Running@1",
      "3:log@1",
      "4:Canceled@1",
    ]);
  });

  it("conditions another writer on seq: a Running run that only wrote data events is not a lost race", async () => {
    // Arrange: the holder's data events do not touch the run item
    const { run } = await claimed(await created());
    await store.putEvents(run.runId, 1, 3, [log("later")]);
    // Act
    const outcome = await store.transition(run, must(cancel(run, "stop", now)));
    // Assert
    expect(outcome).toMatchObject({ stored: { status: "Canceled", seq: 4 } });
  });
});

describe("deduplication locks", () => {
  it("are freed in the same write as the holder's terminal status", async () => {
    // Arrange
    const { run, lastEventId } = await claimed(await created({ deduplicationId: "d-own" }));
    expect(await lockOf("Add", "d-own")).toMatchObject({ runId: run.runId });
    const commands = recordCommands();
    // Act
    await store.transition(run, must(succeed(run, 1, {}, now)), { lastEventId });
    // Assert
    expect(commands).toEqual(["TransactWriteCommand"]);
    expect(await lockOf("Add", "d-own")).toBeUndefined();
    expect(await store.get(run.runId)).toMatchObject({ status: "Succeeded", statusInline: true, seq: 3 });
  });

  it("are freed with another writer's cancel of a Running run, and the id can be used again", async () => {
    // Arrange
    const { run } = await claimed(await created({ deduplicationId: "d-foreign" }));
    // Act
    await store.transition(run, must(cancel(run, "stop", now)));
    // Assert
    expect(await lockOf("Add", "d-foreign")).toBeUndefined();
    expect(await eventItems(run.runId)).toEqual(["2:Running", "3:Canceled"]);
    const again = await created({ deduplicationId: "d-foreign" });
    expect(await lockOf("Add", "d-foreign")).toMatchObject({ runId: again.runId });
  });

  it("are kept through a retry", async () => {
    const { run, lastEventId } = await claimed(await created({ deduplicationId: "d-retry" }));
    await store.transition(run, must(failAttempt(run, 1, boom, now + 1, now)), { lastEventId });
    expect(await lockOf("Add", "d-retry")).toMatchObject({ runId: run.runId });
  });
});
