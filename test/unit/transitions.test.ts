/**
 * The pure transitions (`sdk/src/domain/transitions.ts`): each returns the whole next
 * item and the one status event that enters it, or `undefined` when it does not apply.
 * (The claim is not here: it is a conditional update, tested in `claim.test.ts`.)
 */
import { describe, expect, it } from "vitest";
import type { RunError, RunStatus } from "../../sdk/src/domain/run.js";
import { cancel, expire, failAttempt, failPending, succeed } from "../../sdk/src/domain/transitions.js";
import { createdMs, runItem, runningItem } from "./run-item-factory.js";

const now = createdMs + 60_000;
const iso = (ms: number) => new Date(ms).toISOString();
const terminal: RunStatus[] = ["Succeeded", "Canceled", "Failed"];
const boom: RunError = { type: "TypeError", message: "boom", stack: "TypeError: boom\n    at handler" };

/** A running attempt held by a Lambda worker (a deadline) that entered with a reason. */
const held = (attempt = 1, extra = {}) =>
  runningItem(attempt, { holdUntilMs: createdMs + 900_000, statusReason: "lease expired", ...extra });

/** Index attributes, which no transition may change. */
const indexKeys = (run: object) => {
  const { jobPk, createdSk, parentPk } = run as Record<string, unknown>;
  return { jobPk, createdSk, parentPk };
};

describe("succeed", () => {
  it("moves Running to Succeeded with the result, the completion time, and no holder or error", () => {
    // Arrange
    const run = held(2, { error: boom, progress: 0.4 });
    // Act
    const t = succeed(run, 2, { resultJson: "3" }, now);
    // Assert
    expect(t?.next).toMatchObject({ status: "Succeeded", resultJson: "3", completedMs: now, attempt: 2 });
    expect(t?.next).not.toHaveProperty("error");
    expect(t?.next).not.toHaveProperty("holdUntilMs");
    expect(t?.next).not.toHaveProperty("statusReason");
    expect(t?.next).not.toHaveProperty("progress");
    expect(t?.event).toEqual({ type: "status", status: "Succeeded" });
  });

  it("keeps the attempt's Running event and the event bookkeeping for the store to decide", () => {
    const run = runningItem(1);
    const t = succeed(run, 1, {}, now);
    expect(t?.next).toMatchObject({
      seq: run.seq,
      startSeq: run.startSeq,
      startedMs: run.startedMs,
      workerId: "w1",
    });
    expect(indexKeys(t?.next ?? {})).toEqual(indexKeys(run));
  });

  it("records no result when the handler returned nothing, even if one was stored before", () => {
    const t = succeed(
      runningItem(1, { resultJson: '"stale"', resultRef: true, resultInEvents: true }),
      1,
      {},
      now,
    );
    expect(t?.next.status).toBe("Succeeded");
    expect(t?.next).not.toHaveProperty("resultJson");
    expect(t?.next).not.toHaveProperty("resultRef");
    expect(t?.next).not.toHaveProperty("resultInEvents");
  });

  it("records an explicit null result", () => {
    expect(succeed(runningItem(), 1, { resultJson: "null" }, now)?.next.resultJson).toBe("null");
  });

  it("records a result stored in its own item, or in the attempt's output events", () => {
    expect(succeed(runningItem(), 1, { resultRef: true }, now)?.next).toMatchObject({ resultRef: true });
    expect(succeed(runningItem(), 1, { resultInEvents: true }, now)?.next).toMatchObject({
      resultInEvents: true,
    });
  });

  it("does not modify the run it was given", () => {
    const run = held(1);
    const before = structuredClone(run);
    succeed(run, 1, { resultJson: "3" }, now);
    expect(run).toEqual(before);
  });

  it("does not apply for another attempt", () => {
    expect(succeed(runningItem(2), 1, { resultJson: "3" }, now)).toBeUndefined();
  });

  it.each<RunStatus>(["Pending", ...terminal])("does not apply to a %s run", (status) => {
    expect(succeed(runItem({ status, attempt: 1 }), 1, { resultJson: "3" }, now)).toBeUndefined();
  });
});

describe("failAttempt", () => {
  it("with a retry time, moves Running back to Pending with notBefore, the error and one more wake-up", () => {
    // Arrange
    const retryAt = now + 5_000;
    const run = held(1, { progress: 0.4, enqueueCount: 1 });
    // Act
    const t = failAttempt(run, 1, boom, retryAt, now);
    // Assert
    expect(t?.next).toMatchObject({
      status: "Pending",
      attempt: 1,
      notBeforeMs: retryAt,
      error: boom,
      enqueueCount: 2,
      statusReason: "retry",
    });
    expect(t?.next).not.toHaveProperty("holdUntilMs");
    expect(t?.next).not.toHaveProperty("progress");
    expect(t?.next).not.toHaveProperty("completedMs");
    expect(t?.event).toEqual({
      type: "status",
      status: "Pending",
      reason: "retry",
      error: boom,
      retryAt: iso(retryAt),
    });
  });

  it("with a retry time and a recovery reason, records that reason on the run and the event", () => {
    const t = failAttempt(runningItem(1), 1, boom, now + 1, now, "lease expired");
    expect(t?.next.statusReason).toBe("lease expired");
    expect(t?.event).toMatchObject({ status: "Pending", reason: "lease expired" });
  });

  it("counts the wake-up from the run's own count, each retry one more", () => {
    const first = failAttempt(runningItem(1, { enqueueCount: 1 }), 1, boom, now + 1, now);
    const second = failAttempt(runningItem(2, { enqueueCount: 2 }), 2, boom, now + 1, now);
    expect([first?.next.enqueueCount, second?.next.enqueueCount]).toEqual([2, 3]);
  });

  it("without a retry time, moves Running to Failed with the error and completion time", () => {
    // Act
    const t = failAttempt(held(3, { enqueueCount: 3 }), 3, boom, undefined, now);
    // Assert
    expect(t?.next).toMatchObject({
      status: "Failed",
      attempt: 3,
      error: boom,
      completedMs: now,
      enqueueCount: 3,
    });
    expect(t?.next).not.toHaveProperty("holdUntilMs");
    expect(t?.next).not.toHaveProperty("statusReason");
    expect(t?.event).toEqual({ type: "status", status: "Failed", error: boom });
  });

  it("without a retry time and with a reason, records the reason on the run and the Failed event", () => {
    const t = failAttempt(runningItem(1), 1, boom, undefined, now, "no handler registered");
    expect(t?.next.statusReason).toBe("no handler registered");
    expect(t?.event).toEqual({
      type: "status",
      status: "Failed",
      error: boom,
      reason: "no handler registered",
    });
  });

  it("leaves the index attributes as they were", () => {
    const run = runningItem(1, { parentRunId: "P1" });
    expect(indexKeys(failAttempt(run, 1, boom, now + 1, now)?.next ?? {})).toEqual(indexKeys(run));
  });

  it("does not apply for another attempt", () => {
    expect(failAttempt(runningItem(2), 1, boom, undefined, now)).toBeUndefined();
  });

  it.each<RunStatus>(["Pending", ...terminal])("does not apply to a %s run", (status) => {
    expect(failAttempt(runItem({ status, attempt: 1 }), 1, boom, now + 1, now)).toBeUndefined();
  });
});

describe("failPending", () => {
  it("moves Pending to Failed without an attempt, with the error and the reason", () => {
    // Arrange: a retry whose wake-up could not be delivered
    const run = runItem({ attempt: 1, notBeforeMs: createdMs + 5, statusReason: "retry", enqueueCount: 2 });
    // Act
    const t = failPending(run, 1, boom, "wake-up dead-lettered", now);
    // Assert
    expect(t?.next).toMatchObject({
      status: "Failed",
      attempt: 1,
      error: boom,
      statusReason: "wake-up dead-lettered",
      completedMs: now,
      enqueueCount: 2,
    });
    expect(t?.event).toEqual({
      type: "status",
      status: "Failed",
      error: boom,
      reason: "wake-up dead-lettered",
    });
  });

  it("does not modify the run it was given", () => {
    const run = runItem();
    const before = structuredClone(run);
    failPending(run, 0, boom, "wake-up dead-lettered", now);
    expect(run).toEqual(before);
  });

  it("does not apply for another attempt (the message is stale)", () => {
    expect(failPending(runItem({ attempt: 1 }), 0, boom, "wake-up dead-lettered", now)).toBeUndefined();
  });

  it.each<RunStatus>(["Running", ...terminal])("does not apply to a %s run", (status) => {
    expect(failPending(runItem({ status }), 0, boom, "wake-up dead-lettered", now)).toBeUndefined();
  });
});

describe("cancel", () => {
  it("moves Pending to Canceled with the reason", () => {
    const t = cancel(runItem(), "canceled by request", now);
    expect(t?.next).toMatchObject({
      status: "Canceled",
      cancelReason: "canceled by request",
      completedMs: now,
    });
    expect(t?.event).toEqual({ type: "status", status: "Canceled", reason: "canceled by request" });
  });

  it("moves Running to Canceled and drops the holder's deadline", () => {
    const t = cancel(held(1), "parent run p was canceled", now);
    expect(t?.next.status).toBe("Canceled");
    expect(t?.next.attempt).toBe(1);
    expect(t?.next).not.toHaveProperty("holdUntilMs");
    expect(t?.next).not.toHaveProperty("statusReason");
  });

  it.each(terminal)("does not apply to a %s run", (status) => {
    expect(cancel(runItem({ status }), "too late", now)).toBeUndefined();
  });
});

describe("expire", () => {
  it("cancels a Pending run whose notAfter has passed, saying so", () => {
    // Arrange
    const notAfterMs = now - 1;
    // Act
    const t = expire(runItem({ notAfterMs }), now);
    // Assert
    expect(t?.next.status).toBe("Canceled");
    expect(t?.next.cancelReason).toBe(`notAfter passed (${iso(notAfterMs)}) before the run started`);
    expect(t?.event).toEqual({ type: "status", status: "Canceled", reason: t?.next.cancelReason });
  });

  it("expires a run exactly at notAfter", () => {
    expect(expire(runItem({ notAfterMs: now }), now)?.next.status).toBe("Canceled");
  });

  it("does not apply before notAfter", () => {
    expect(expire(runItem({ notAfterMs: now + 1 }), now)).toBeUndefined();
  });

  it("does not apply to a run without notAfter", () => {
    expect(expire(runItem(), now)).toBeUndefined();
  });

  it.each<RunStatus>(["Running", ...terminal])(
    "does not apply to a %s run (it already started)",
    (status) => {
      expect(expire(runItem({ status, notAfterMs: now - 1 }), now)).toBeUndefined();
    },
  );
});
