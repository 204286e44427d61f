import { describe, expect, it } from "vitest";
import type { RunError, RunStatus } from "../../sdk/src/domain/run.js";
import { cancel, claim, expire, failAttempt, succeed } from "../../sdk/src/domain/transitions.js";
import { createdMs, runItem } from "./run-item-factory.js";

const now = createdMs + 60_000;
const iso = (ms: number) => new Date(ms).toISOString();
const terminal: RunStatus[] = ["Succeeded", "Canceled", "Failed"];
const boom: RunError = { type: "TypeError", message: "boom", stack: "TypeError: boom\n    at handler" };

/** A run claimed for attempt `attempt` by worker w1 at `createdMs + 1000`. */
const running = (attempt = 1, extra = {}) =>
  runItem({
    status: "Running",
    attempt,
    workerId: "w1",
    startedAt: iso(createdMs + 1_000),
    leaseExpiresMs: createdMs + 31_000,
    progress: 0.4,
    ...extra,
  });

describe("claim", () => {
  it("moves Pending to Running, increments the attempt and takes the lease", () => {
    // Arrange
    const run = runItem({ notBeforeMs: createdMs + 10 });
    // Act
    const t = claim(run, 0, "w1", now, 30_000);
    // Assert
    expect(t?.next).toEqual({
      ...run,
      status: "Running",
      attempt: 1,
      startedAt: iso(now),
      workerId: "w1",
      leaseExpiresMs: now + 30_000,
      progress: 0,
    });
    expect(t?.events).toEqual([{ type: "status", status: "Running" }]);
  });

  it("claims a retried run for the next attempt", () => {
    const t = claim(runItem({ attempt: 2, progress: 0 }), 2, "w2", now, 1_000);
    expect(t?.next.attempt).toBe(3);
    expect(t?.next.workerId).toBe("w2");
  });

  it("does not modify the run it was given", () => {
    const run = runItem();
    const before = structuredClone(run);
    claim(run, 0, "w1", now, 30_000);
    expect(run).toEqual(before);
  });

  it("does not apply when the attempt moved on (a stale or duplicate message)", () => {
    expect(claim(runItem({ attempt: 1 }), 0, "w1", now, 30_000)).toBeUndefined();
  });

  it.each<RunStatus>(["Running", ...terminal])("does not apply to a %s run", (status) => {
    expect(claim(runItem({ status }), 0, "w1", now, 30_000)).toBeUndefined();
  });
});

describe("succeed", () => {
  it("moves Running to Succeeded with progress 1, the result, and no lease or error", () => {
    // Arrange
    const run = running(2, { error: boom });
    // Act
    const t = succeed(run, 2, "3", now);
    // Assert
    expect(t?.next.status).toBe("Succeeded");
    expect(t?.next.progress).toBe(1);
    expect(t?.next.resultJson).toBe("3");
    expect(t?.next.completedAt).toBe(iso(now));
    expect(t?.next.attempt).toBe(2);
    expect(t?.next).not.toHaveProperty("error");
    expect(t?.next).not.toHaveProperty("leaseExpiresMs");
    expect(t?.events).toEqual([{ type: "status", status: "Succeeded" }]);
  });

  it("records no result when the handler returned nothing, even if one was stored before", () => {
    const t = succeed(running(1, { resultJson: '"stale"' }), 1, undefined, now);
    expect(t?.next.status).toBe("Succeeded");
    expect(t?.next).not.toHaveProperty("resultJson");
  });

  it("records an explicit null result", () => {
    expect(succeed(running(), 1, "null", now)?.next.resultJson).toBe("null");
  });

  it("does not apply for another attempt", () => {
    expect(succeed(running(2), 1, "3", now)).toBeUndefined();
  });

  it.each<RunStatus>(["Pending", ...terminal])("does not apply to a %s run", (status) => {
    expect(succeed(runItem({ status, attempt: 1 }), 1, "3", now)).toBeUndefined();
  });
});

describe("failAttempt", () => {
  it("with a retry time, moves Running back to Pending with notBefore, progress 0 and the error", () => {
    // Arrange
    const retryAt = now + 5_000;
    // Act
    const t = failAttempt(running(1), 1, boom, retryAt, now);
    // Assert
    expect(t?.next).toMatchObject({
      status: "Pending",
      attempt: 1,
      notBeforeMs: retryAt,
      progress: 0,
      error: boom,
    });
    expect(t?.next).not.toHaveProperty("leaseExpiresMs");
    expect(t?.next).not.toHaveProperty("completedAt");
    expect(t?.events).toEqual([
      { type: "status", status: "Pending", reason: "retry", error: boom, retryAt: iso(retryAt) },
    ]);
  });

  it("with a retry time and a recovery reason, records that reason", () => {
    const t = failAttempt(running(1), 1, boom, now + 1, now, "lease expired");
    expect(t?.events[0]).toMatchObject({ status: "Pending", reason: "lease expired" });
  });

  it("without a retry time, moves Running to Failed with the error and completion time", () => {
    // Act
    const t = failAttempt(running(3), 3, boom, undefined, now);
    // Assert
    expect(t?.next).toMatchObject({ status: "Failed", attempt: 3, error: boom, completedAt: iso(now) });
    expect(t?.next).not.toHaveProperty("leaseExpiresMs");
    expect(t?.events).toEqual([{ type: "status", status: "Failed", error: boom }]);
  });

  it("without a retry time and with a reason, records the reason on the Failed event", () => {
    const t = failAttempt(running(1), 1, boom, undefined, now, "no handler registered");
    expect(t?.events).toEqual([
      { type: "status", status: "Failed", error: boom, reason: "no handler registered" },
    ]);
  });

  it("does not apply for another attempt", () => {
    expect(failAttempt(running(2), 1, boom, undefined, now)).toBeUndefined();
  });

  it.each<RunStatus>(["Pending", ...terminal])("does not apply to a %s run", (status) => {
    expect(failAttempt(runItem({ status, attempt: 1 }), 1, boom, now + 1, now)).toBeUndefined();
  });
});

describe("cancel", () => {
  it("moves Pending to Canceled with the reason", () => {
    const t = cancel(runItem(), "canceled by request", now);
    expect(t?.next).toMatchObject({
      status: "Canceled",
      cancelReason: "canceled by request",
      completedAt: iso(now),
    });
    expect(t?.events).toEqual([{ type: "status", status: "Canceled", reason: "canceled by request" }]);
  });

  it("moves Running to Canceled and drops the lease", () => {
    const t = cancel(running(1), "parent run p was canceled", now);
    expect(t?.next.status).toBe("Canceled");
    expect(t?.next.attempt).toBe(1);
    expect(t?.next).not.toHaveProperty("leaseExpiresMs");
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
    expect(t?.events).toEqual([{ type: "status", status: "Canceled", reason: t?.next.cancelReason }]);
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
