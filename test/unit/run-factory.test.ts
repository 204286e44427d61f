/**
 * Index attributes of a new run (`sdk/src/store/run-factory.ts`, `keys.ts`): set once at
 * creation, spread over the listing shards by a hash of the run id, and never changed
 * by a later write (`conditions.ts` `updateOf` leaves them out).
 */
import { describe, expect, it } from "vitest";
import { cancel, failAttempt, succeed } from "../../sdk/src/domain/transitions.js";
import { updateOf } from "../../sdk/src/store/conditions.js";
import { listingShards, shardOf } from "../../sdk/src/store/keys.js";
import { newRunItem } from "../../sdk/src/store/run-factory.js";
import { createdMs, runFields, runningItem } from "./run-item-factory.js";

const pad15 = (ms: number) => String(ms).padStart(15, "0");
const ids = (n: number) =>
  Array.from({ length: n }, (_, i) => `01JH4Q2X7V8Y9Z0A1B2C${String(i).padStart(6, "0")}`);

describe("newRunItem", () => {
  it("builds a Pending run at attempt 0 whose creation event is inline (event 1)", () => {
    const item = newRunItem(runFields({ runId: "R1" }), false);
    expect(item).toMatchObject({
      pk: "RUN#R1",
      sk: "#RUN",
      kind: "run",
      status: "Pending",
      attempt: 0,
      seq: 1,
      statusInline: true,
      createdMs,
    });
    expect(item).not.toHaveProperty("startSeq");
  });

  it("lists every run by job in its shard, sorted by creation time then id", () => {
    const item = newRunItem(runFields({ runId: "R1", jobName: "Import" }), false);
    expect(item.jobPk).toBe(`JOB#Import#${shardOf("R1")}`);
    expect(item.createdSk).toBe("2030-01-01T00:00:00.000Z#R1");
  });

  it("lists a child by its parent, in the child's shard", () => {
    const child = newRunItem(runFields({ runId: "C1", parentRunId: "P1", rootRunId: "P1" }), false);
    expect(child.parentPk).toBe(`PARENT#P1#${shardOf("C1")}`);
    expect(newRunItem(runFields({ runId: "R1" }), false)).not.toHaveProperty("parentPk");
  });

  it("puts a run due beyond the hold with no timer in byLater, at its notBefore", () => {
    const item = newRunItem(
      runFields({ runId: "R1", notBeforeMs: createdMs + 13 * 3_600_000, enqueueCount: 0 }),
      true,
    );
    expect(item.laterPk).toBe(`LATER#${shardOf("R1")}`);
    expect(item.dueSk).toBe(`${pad15(createdMs + 13 * 3_600_000)}#R1`);
  });

  it("keeps every other run out of byLater", () => {
    const item = newRunItem(runFields({ runId: "R1", notBeforeMs: createdMs + 5_000 }), false);
    expect(item).not.toHaveProperty("laterPk");
    expect(item).not.toHaveProperty("dueSk");
  });

  it("does not modify the fields it was given", () => {
    const fields = runFields({ parentRunId: "P1" });
    const before = structuredClone(fields);
    newRunItem(fields, true);
    expect(fields).toEqual(before);
  });
});

describe("listing shards", () => {
  it("gives each run one shard in 0..15, the same every time", () => {
    const shards = ids(50).map(shardOf);
    expect(listingShards).toBe(16);
    expect(shards.every((s) => Number.isInteger(s) && s >= 0 && s < listingShards)).toBe(true);
    expect(ids(50).map(shardOf)).toEqual(shards);
  });

  it("spreads 200 runs of one job over every shard, none holding more than a tenth", () => {
    // Arrange
    const counts = new Map<string, number>();
    // Act
    for (const runId of ids(200)) {
      const { jobPk } = newRunItem(runFields({ runId, jobName: "Import" }), false);
      counts.set(jobPk as string, (counts.get(jobPk as string) ?? 0) + 1);
    }
    // Assert
    expect(counts.size).toBe(listingShards);
    expect(Math.max(...counts.values())).toBeLessThanOrEqual(20);
  });
});

describe("index attributes never change", () => {
  const boom = { type: "Error", message: "boom" };

  it.each([
    ["succeed", (r: ReturnType<typeof runningItem>) => succeed(r, 1, { resultJson: "1" }, createdMs + 9)],
    ["retry", (r: ReturnType<typeof runningItem>) => failAttempt(r, 1, boom, createdMs + 99, createdMs + 9)],
    ["fail", (r: ReturnType<typeof runningItem>) => failAttempt(r, 1, boom, undefined, createdMs + 9)],
    ["cancel", (r: ReturnType<typeof runningItem>) => cancel(r, "stop", createdMs + 9)],
  ])("no update of a transition (%s) names jobPk, createdSk or parentPk", (_name, decide) => {
    // Arrange
    const run = runningItem(1, { parentRunId: "P1" });
    const next = decide(run)?.next;
    if (!next) throw new Error("the transition should apply");
    // Act
    const update = updateOf(run, { ...next, seq: run.seq + 1 }, []);
    // Assert
    expect(update.changed).toBe(true);
    const named = Object.values(update.ExpressionAttributeNames);
    expect(named).toContain("status");
    for (const key of ["pk", "sk", "jobPk", "createdSk", "parentPk"]) expect(named).not.toContain(key);
  });

  it("even an item that asks for different keys gets no update of them", () => {
    const run = runningItem(1, { parentRunId: "P1" });
    const update = updateOf(
      run,
      { ...run, jobPk: "JOB#Other#0", createdSk: "x", parentPk: "PARENT#x#0" },
      [],
    );
    expect(update.changed).toBe(false);
    expect(update.UpdateExpression).toBe("");
  });
});
