/**
 * The local timer (`LocalRunTimer`) against the timer port's conformance suite, plus
 * what is specific to it: a failed firing is tried again, and timers lost with the
 * process are made again from the table. Then a system with no timer at all: a run due
 * beyond the visibility hold waits in `byLater` and the maintenance pass releases it.
 */
import { describe, expect, it } from "vitest";
import { connect } from "../../sdk/src/connect.js";
import { JobApp } from "../../sdk/src/jobs/job-app.js";
import { runMaintenance } from "../../sdk/src/maintenance/maintenance.js";
import { resendWakeUps } from "../../sdk/src/maintenance/resend-wake-ups.js";
import { maxHoldMs } from "../../sdk/src/queue/visibility.js";
import { shardOf } from "../../sdk/src/store/keys.js";
import { LocalRunTimer } from "../../sdk/src/timer/local-timer.js";
import { scheduleName } from "../../sdk/src/timer/timer-port.js";
import { createTestResources } from "../support/local-resources.js";
import { startTestSystem } from "../support/test-system.js";
import { drainLane, ManualClock, timerConformance } from "./timer-conformance.js";

timerConformance("LocalRunTimer", {
  makeTimer: (parts) => new LocalRunTimer(parts),
  async fire(system) {
    await system.runTimer?.fireDue();
  },
  names(system) {
    return (system.runTimer?.pending() ?? []).map((entry) => entry.name);
  },
});

describe("LocalRunTimer", () => {
  it("keeps the visibility hold as its default threshold, with no lead", async () => {
    const app = new JobApp();
    const system = await startTestSystem({ app, workers: 0, timer: false });
    try {
      expect(system.timer.releaseThresholdMs).toBe(maxHoldMs);
      expect(system.timer.releaseLeadMs).toBe(0);
      expect(system.timer.expiresRuns).toBe(true);
    } finally {
      await system.stop();
    }
  });

  it("tries a failed firing again after its retry delay", async () => {
    // Arrange: a dispatcher whose first send fails
    const clock = new ManualClock();
    const app = new JobApp();
    const job = app.addJob("Later", () => "ran");
    const errors: string[] = [];
    let timer: LocalRunTimer | undefined;
    const system = await startTestSystem({
      app,
      workers: 0,
      timer: false,
      streams: false,
      now: clock.now,
      makeTimer: (parts) => {
        let failures = 1;
        const send = parts.dispatcher.send.bind(parts.dispatcher);
        const dispatcher = Object.assign(Object.create(parts.dispatcher), {
          send: async (run: Parameters<typeof send>[0]) => {
            if (failures-- > 0) throw new Error("injected: SQS unavailable");
            return send(run);
          },
        });
        timer = new LocalRunTimer({
          ...parts,
          dispatcher,
          retryDelayMs: 5_000,
          onError: (e) => errors.push(String(e)),
        });
        return timer;
      },
    });
    try {
      const notBefore = clock.now() + maxHoldMs + 3_600_000;
      const run = await system.client.trigger(job, undefined, { notBefore: new Date(notBefore) });
      // Act
      clock.set(notBefore);
      const firstFired = await timer?.fireDue();
      const afterFailure = await drainLane(system, run);
      // The retry is due 5 s after the failure (plus the real time the failure took): 6 s leaves a margin.
      clock.set(notBefore + 6_000);
      const secondFired = await timer?.fireDue();
      // Assert
      expect(firstFired).toBe(0);
      expect(errors).toEqual(["Error: injected: SQS unavailable"]);
      expect(afterFailure).toEqual([]);
      expect(secondFired).toBe(1);
      expect(await drainLane(system, run)).toHaveLength(1);
    } finally {
      await system.stop();
    }
  });
});

describe("LocalRunTimer after a restart", () => {
  it("gets its release and expiry timers made again from the table, and fires them when due", async () => {
    // Arrange: a run released by the timer with a deadline; then the process (and its timers) is gone
    const clock = new ManualClock();
    const app = new JobApp();
    const job = app.addJob("Later", () => "ran");
    const system = await startTestSystem({ app, workers: 0, timer: false, streams: false, now: clock.now });
    try {
      const notBefore = clock.now() + maxHoldMs + 3_600_000;
      const notAfter = notBefore + 3_600_000;
      const run = await system.client.trigger(job, undefined, {
        notBefore: new Date(notBefore),
        notAfter: new Date(notAfter),
      });
      const restarted = new LocalRunTimer({
        store: system.store,
        dispatcher: system.dispatcher,
        now: clock.now,
      });
      // Act
      const sent = await resendWakeUps(system.store, system.dispatcher, restarted, clock.now());
      const names = restarted.pending().map((e) => e.name);
      clock.set(notBefore);
      const released = await restarted.fireDue();
      const messages = await drainLane(system, run);
      // Assert
      expect(sent).toBe(0);
      expect(names.sort()).toEqual(
        [scheduleName(run.runId, "expiry", 0), scheduleName(run.runId, "release", 0)].sort(),
      );
      expect(released).toBe(1);
      expect(messages.map((m) => JSON.parse(m.Body ?? ""))).toEqual([
        { runId: run.runId, attempt: 0, jobName: run.jobName },
      ]);
      expect(restarted.pending().map((e) => e.name)).toEqual([scheduleName(run.runId, "expiry", 0)]);
    } finally {
      await system.stop();
    }
  });
});

describe("a system without a run timer", () => {
  it("keeps a run due beyond the hold in byLater, and the maintenance pass sends it once it is due within the hold", async () => {
    // Arrange
    const app = new JobApp();
    const job = app.addJob("Later", () => "ran");
    const resources = await createTestResources();
    const clock = new ManualClock();
    const system = connect({ ...resources, app, client: { now: clock.now } });
    const notBefore = clock.now() + maxHoldMs + 3_600_000;
    // Act
    const run = await system.client.trigger(job, undefined, { notBefore: new Date(notBefore) });
    const waiting = await system.store.get(run.runId);
    const early = await runMaintenance({
      store: system.store,
      dispatcher: system.dispatcher,
      now: clock.now,
    });
    const laneWhileWaiting = await drainLane(system, run);
    clock.set(notBefore - maxHoldMs + 1_000);
    const due = await runMaintenance({ store: system.store, dispatcher: system.dispatcher, now: clock.now });
    const messages = await drainLane(system, run);
    const again = await runMaintenance({
      store: system.store,
      dispatcher: system.dispatcher,
      now: clock.now,
    });
    // Assert
    expect(system.timer).toBeUndefined();
    expect(waiting).toMatchObject({ enqueueCount: 0, laterPk: `LATER#${shardOf(run.runId)}` });
    expect(waiting).not.toHaveProperty("timerRelease");
    expect(early.released).toBe(0);
    expect(laneWhileWaiting).toEqual([]);
    expect(due).toMatchObject({ released: 1, errors: 0 });
    expect(messages.map((m) => JSON.parse(m.Body ?? ""))).toEqual([
      { runId: run.runId, attempt: 0, jobName: run.jobName },
    ]);
    const released = await system.store.get(run.runId);
    expect(released).toMatchObject({ status: "Pending", enqueueCount: 1 });
    expect(released).not.toHaveProperty("laterPk");
    expect(released).not.toHaveProperty("dueSk");
    expect(again.released).toBe(0);
  });

  it("takes a run that is no longer Pending out of byLater without sending it", async () => {
    const app = new JobApp();
    const job = app.addJob("Later", () => "ran");
    const resources = await createTestResources();
    const clock = new ManualClock();
    const system = connect({ ...resources, app, client: { now: clock.now } });
    const notBefore = clock.now() + maxHoldMs + 3_600_000;
    const run = await system.client.trigger(job, undefined, { notBefore: new Date(notBefore) });
    await system.client.cancel(run.runId);
    clock.set(notBefore);
    const report = await runMaintenance({
      store: system.store,
      dispatcher: system.dispatcher,
      now: clock.now,
    });
    expect(report.released).toBe(0);
    expect(await drainLane(system, run)).toEqual([]);
    expect(await system.store.get(run.runId)).not.toHaveProperty("laterPk");
  });
});
