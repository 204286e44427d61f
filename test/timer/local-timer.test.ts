/**
 * The local timer (`LocalRunTimer`) against the timer port's conformance suite, plus
 * what is specific to it: a failed firing is tried again.
 */
import { describe, expect, it } from "vitest";
import { JobApp } from "../../sdk/src/jobs/job-app.js";
import { maxHoldMs } from "../../sdk/src/queue/visibility.js";
import { LocalRunTimer } from "../../sdk/src/timer/local-timer.js";
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
