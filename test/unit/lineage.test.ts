/**
 * The rules linking a parent's fate to its children (`sdk/src/domain/lineage.ts`): which
 * writes of a parent order its children canceled, which children an order covers, and
 * which children must not start.
 */
import { describe, expect, it } from "vitest";
import { cascadeOrderOf, earlierAttemptsOrder, inScope, orphanReason } from "../../sdk/src/domain/lineage.js";
import type { RunItem } from "../../sdk/src/store/run-item.js";
import { runItem, runningItem } from "./run-item-factory.js";

const parentId = "01PARENT";
/** The parent at attempt `attempt`, Running, having created children in that attempt. */
const spawning = (attempt = 1, extra: Partial<RunItem> = {}) =>
  runningItem(attempt, { runId: parentId, spawnedAttempt: attempt, ...extra });

describe("cascadeOrderOf", () => {
  it.each(["Canceled", "Failed"] as const)(
    "orders every child canceled when a parent with children ends %s",
    (status) => {
      // Arrange
      const old = spawning(2);
      // Act
      const order = cascadeOrderOf(old, { ...old, status });
      // Assert
      expect(order).toEqual({
        parentRunId: parentId,
        cause: `run ${parentId} ended ${status}`,
        reason: `parent run ${parentId} ended ${status}`,
      });
    },
  );

  it("orders the children of the ended attempt canceled when a parent goes back to Pending (retry, hand-back, recovery)", () => {
    const old = spawning(2);
    const order = cascadeOrderOf(old, { ...old, status: "Pending" });
    expect(order).toMatchObject({ parentRunId: parentId, throughAttempt: 2 });
    expect(order?.reason).toBe(`parent run ${parentId} attempt 2 ended without succeeding`);
  });

  it("orders the children of a Succeeded run canceled once a cascade marks it, naming the cause", () => {
    const old = { ...spawning(1), status: "Succeeded" as const };
    const order = cascadeOrderOf(old, { ...old, descendantsCanceled: "run 01ROOT ended Canceled" });
    expect(order).toEqual({
      parentRunId: parentId,
      cause: "run 01ROOT ended Canceled",
      reason: `parent run ${parentId} succeeded, but run 01ROOT ended Canceled`,
    });
  });

  it.each<[string, RunItem | undefined, RunItem | undefined]>([
    ["a new run", undefined, runItem()],
    [
      "a run that never created children ending Canceled",
      runningItem(1),
      { ...runningItem(1), status: "Canceled" },
    ],
    ["a run that never created children retried", runningItem(1), { ...runningItem(1), status: "Pending" }],
    ["a parent succeeding", spawning(1), { ...spawning(1), status: "Succeeded" }],
    [
      "a write to a parent already Canceled",
      { ...spawning(1), status: "Canceled" },
      { ...spawning(1), status: "Canceled" },
    ],
    [
      "a retry of an attempt that created no children (an earlier one did)",
      spawning(2, { spawnedAttempt: 1 }),
      { ...spawning(2, { spawnedAttempt: 1 }), status: "Pending" },
    ],
    ["the spawn mark itself", runningItem(1, { runId: parentId }), spawning(1)],
  ])("orders nothing for %s", (_name, old, next) => {
    expect(cascadeOrderOf(old, next)).toBeUndefined();
  });
});

describe("inScope", () => {
  it("covers children of the attempts up to throughAttempt only; an order without it covers every child", () => {
    const retry = { parentRunId: parentId, cause: "c", reason: "r", throughAttempt: 2 };
    expect(inScope(retry, { parentAttempt: 1 })).toBe(true);
    expect(inScope(retry, { parentAttempt: 2 })).toBe(true);
    expect(inScope(retry, { parentAttempt: 3 })).toBe(false);
    expect(inScope({ parentRunId: parentId, cause: "c", reason: "r" }, { parentAttempt: 3 })).toBe(true);
  });
});

describe("earlierAttemptsOrder", () => {
  it("orders the children of earlier attempts canceled when a retry is claimed", () => {
    const claimed = runningItem(3, { runId: parentId, spawnedAttempt: 2 });
    expect(earlierAttemptsOrder(claimed)).toMatchObject({ parentRunId: parentId, throughAttempt: 2 });
  });

  it("orders nothing for a first attempt, or a run whose attempts created no children", () => {
    expect(earlierAttemptsOrder(runningItem(1))).toBeUndefined();
    expect(earlierAttemptsOrder(runningItem(2))).toBeUndefined();
    expect(earlierAttemptsOrder(spawning(2))).toBeUndefined();
  });
});

describe("orphanReason", () => {
  it.each<[string, RunItem, string]>([
    ["ended Canceled", { ...spawning(1), status: "Canceled" }, `parent run ${parentId} ended Canceled`],
    ["ended Failed", { ...spawning(1), status: "Failed" }, `parent run ${parentId} ended Failed`],
    [
      "went back to Pending at the creating attempt",
      { ...spawning(1), status: "Pending" },
      `parent run ${parentId} attempt 1 ended without succeeding`,
    ],
    ["is running a later attempt", spawning(2), `parent run ${parentId} attempt 1 ended without succeeding`],
    [
      "succeeded but was marked by a cascade",
      { ...spawning(1), status: "Succeeded", descendantsCanceled: "run 01ROOT ended Canceled" },
      `parent run ${parentId} succeeded, but run 01ROOT ended Canceled`,
    ],
  ])("holds back a child created by attempt 1 of a parent that %s", (_name, parent, reason) => {
    expect(orphanReason(parent, 1)).toBe(reason);
  });

  it("lets a child start while its creating attempt runs, after its parent succeeded on it, or when the parent is gone", () => {
    expect(orphanReason(spawning(1), 1)).toBeUndefined();
    expect(orphanReason({ ...spawning(1), status: "Succeeded" }, 1)).toBeUndefined();
    expect(orphanReason(undefined, 1)).toBeUndefined();
  });
});
