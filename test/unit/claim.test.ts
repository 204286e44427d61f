/**
 * The claim (`sdk/src/store/claim.ts`) against DynamoDB Local: one conditional
 * `UpdateItem` whose conditions are the rule. It claims a due Pending run at the
 * message's attempt and returns the claimed run (`ALL_NEW`); otherwise it changes
 * nothing and returns the run as it is (`ALL_OLD`).
 */
import { PutCommand } from "@aws-sdk/lib-dynamodb";
import { beforeAll, describe, expect, it } from "vitest";
import { connect } from "../../sdk/src/connect.js";
import { type ClaimRequest, claimRun } from "../../sdk/src/store/claim.js";
import { newRunItem } from "../../sdk/src/store/run-factory.js";
import type { RunItem } from "../../sdk/src/store/run-item.js";
import type { RunStore } from "../../sdk/src/store/run-store.js";
import { createTestResources } from "../support/local-resources.js";
import { createdMs, runFields } from "./run-item-factory.js";

let store: RunStore;
let next = 0;

beforeAll(async () => {
  store = connect(await createTestResources()).store;
});

/**
 * Stores a run item as written: a new Pending run with `overrides` applied and the
 * `without` attributes left out. Returns it as read back.
 */
async function stored(overrides: Partial<RunItem> = {}, without: (keyof RunItem)[] = []): Promise<RunItem> {
  const runId = `01CLAIM${String(next++).padStart(4, "0")}`;
  const item: RunItem = { ...newRunItem(runFields({ runId }), false), ...overrides };
  for (const key of without) delete item[key];
  await store.doc.send(new PutCommand({ TableName: store.tableName, Item: item }));
  return (await store.get(runId)) as RunItem;
}

const now = createdMs + 10_000;
const request = (run: RunItem, extra: Partial<ClaimRequest> = {}): ClaimRequest => ({
  runId: run.runId,
  attempt: run.attempt,
  workerId: "w1",
  nowMs: now,
  ...extra,
});

describe("claimRun", () => {
  it("claims a due Pending run at the message's attempt, its Running event inline at seq + 1", async () => {
    // Arrange
    const runId = "01CLAIMFIRST";
    const run = await store.create(
      newRunItem(runFields({ runId, timerExpiry: true, notAfterMs: now + 1 }), false),
    );
    // Act
    const outcome = await claimRun(store, request(run));
    // Assert
    expect(outcome).toEqual({
      claimed: {
        ...run,
        status: "Running",
        attempt: 1,
        startedMs: now,
        workerId: "w1",
        seq: 2,
        startSeq: 2,
        statusInline: true,
        timerExpiry: true,
      },
    });
    // The flag stays: the worker that claimed deletes the expiry timer it names.
    expect(outcome).toHaveProperty("claimed.timerExpiry", true);
    expect(await store.get(run.runId)).toEqual("claimed" in outcome ? outcome.claimed : undefined);
  });

  it("claims a retried run for the next attempt, one id past its retry's Pending event", async () => {
    // Arrange: Pending 1, Running 2, Pending 3 (retry, due now)
    const run = await stored(
      {
        attempt: 1,
        seq: 3,
        statusReason: "retry",
        notBeforeMs: now,
        workerId: "w0",
        startedMs: createdMs,
        enqueueCount: 2,
      },
      ["statusInline"],
    );
    // Act
    const outcome = await claimRun(store, request(run, { workerId: "w2" }));
    // Assert
    expect(outcome).toMatchObject({
      claimed: {
        status: "Running",
        attempt: 2,
        seq: 4,
        startSeq: 4,
        statusInline: true,
        workerId: "w2",
        startedMs: now,
      },
    });
    expect(outcome).not.toHaveProperty("claimed.statusReason");
  });

  it("records a Lambda holder's deadline, and removes one left by an earlier holder", async () => {
    const withHold = await stored();
    expect(await claimRun(store, request(withHold, { holdUntilMs: now + 900_000 }))).toMatchObject({
      claimed: { holdUntilMs: now + 900_000 },
    });
    const stale = await stored({ holdUntilMs: 5 });
    expect(await claimRun(store, request(stale))).not.toHaveProperty("claimed.holdUntilMs");
  });

  it("claims a run whose notBefore is exactly now", async () => {
    const run = await stored({ notBeforeMs: now });
    expect(await claimRun(store, request(run))).toMatchObject({ claimed: { status: "Running" } });
  });

  it.each<[string, Partial<RunItem>, Partial<ClaimRequest>]>([
    ["a wrong (stale) attempt", { attempt: 1, seq: 3 }, { attempt: 0 }],
    ["a wrong (future) attempt", {}, { attempt: 1 }],
    ["a notBefore not yet reached", { notBeforeMs: now + 1 }, {}],
    ["a notAfter passed", { notAfterMs: now - 1 }, {}],
    ["a notAfter reached exactly", { notAfterMs: now }, {}],
    [
      "a Running run",
      { status: "Running", attempt: 1, seq: 2, startSeq: 2, startedMs: createdMs, workerId: "w0" },
      { attempt: 1 },
    ],
    ["a Succeeded run", { status: "Succeeded", completedMs: createdMs }, {}],
    ["a Canceled run", { status: "Canceled", seq: 2, cancelReason: "stop", completedMs: createdMs }, {}],
  ])("refuses %s, returns the run as it is (ALL_OLD) and changes nothing", async (_name, state, extra) => {
    // Arrange
    const run = await stored(state);
    // Act
    const outcome = await claimRun(store, request(run, extra));
    // Assert
    expect(outcome).toEqual({ current: run });
    expect(await store.get(run.runId)).toEqual(run);
  });

  it("returns no current run for a run that does not exist, and creates none", async () => {
    const outcome = await claimRun(store, { runId: "01CLAIMNONE", attempt: 0, workerId: "w1", nowMs: now });
    expect(outcome).toEqual({ current: undefined });
    expect(await store.get("01CLAIMNONE")).toBeUndefined();
  });

  it("lets exactly one of two claims of one message win", async () => {
    const run = await stored();
    const outcomes = await Promise.all([
      claimRun(store, request(run)),
      claimRun(store, request(run, { workerId: "w2" })),
    ]);
    const claimed = outcomes.filter((o) => "claimed" in o);
    const refused = outcomes.filter((o) => "current" in o);
    expect(claimed).toHaveLength(1);
    expect(refused).toEqual([
      { current: expect.objectContaining({ status: "Running", attempt: 1, seq: 2 }) },
    ]);
  });

  describe("with more items in one transaction (also)", () => {
    const marker = (id: string) => ({ pk: `MARK#${id}`, sk: "#MARK" });

    it("commits the claim with them and reads the claimed run back", async () => {
      // Arrange
      const run = await stored();
      await store.doc.send(
        new PutCommand({ TableName: store.tableName, Item: { ...marker(run.runId), open: true } }),
      );
      // Act
      const outcome = await claimRun(
        store,
        request(run, {
          also: [
            {
              ConditionCheck: {
                TableName: store.tableName,
                Key: marker(run.runId),
                ConditionExpression: "#open = :true",
                ExpressionAttributeNames: { "#open": "open" },
                ExpressionAttributeValues: { ":true": true },
              },
            },
          ],
        }),
      );
      // Assert
      expect(outcome).toMatchObject({
        claimed: { runId: run.runId, status: "Running", attempt: 1, startSeq: 2 },
      });
    });

    it("claims nothing when one of them fails, returning the run as it is", async () => {
      const run = await stored();
      const outcome = await claimRun(
        store,
        request(run, {
          also: [
            {
              ConditionCheck: {
                TableName: store.tableName,
                Key: marker(`${run.runId}-missing`),
                ConditionExpression: "attribute_exists(pk)",
              },
            },
          ],
        }),
      );
      expect(outcome).toEqual({ current: run });
      expect((await store.get(run.runId))?.status).toBe("Pending");
    });

    it("returns the run as it is (ALL_OLD) when the claim itself fails", async () => {
      const run = await stored({ notBeforeMs: now + 60_000 });
      await store.doc.send(
        new PutCommand({ TableName: store.tableName, Item: { ...marker(run.runId), open: true } }),
      );
      const outcome = await claimRun(
        store,
        request(run, {
          also: [
            {
              ConditionCheck: {
                TableName: store.tableName,
                Key: marker(run.runId),
                ConditionExpression: "attribute_exists(pk)",
              },
            },
          ],
        }),
      );
      expect(outcome).toEqual({ current: run });
      expect(await store.get(run.runId)).toEqual(run);
    });
  });
});
