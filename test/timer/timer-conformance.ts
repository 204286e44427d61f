/**
 * The timer port's conformance suite (STYLE.md point 3): one set of behaviours, run
 * against every implementation (`local-timer.test.ts`, `scheduler-timer.test.ts`).
 *
 * Each case gets a whole job system on the local emulators (its own table and lanes)
 * with the timer under test, a clock the case moves by hand, no timer loop, no
 * maintenance pass and no stream consumers: whatever happens at a due time happens
 * because the harness fired the timer. (The table stream's consumer makes the same
 * schedules again, a harmless repeat by the contract, but at a moment of its own: after
 * a case fired or deleted a timer, it could make it again.) The one case about the
 * stream's wake-ups starts the consumers. A case starts a worker only when it wants runs
 * executed; without one, nothing polls.
 */
import { DeleteMessageCommand, type Message, ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import { afterEach, describe, expect, it } from "vitest";
import { JobApp } from "../../sdk/src/jobs/job-app.js";
import type { RunItem } from "../../sdk/src/store/run-item.js";
import { type RunTimer, scheduleName } from "../../sdk/src/timer/timer-port.js";
import { startTestSystem, type TestSystem, type TestSystemOptions } from "../support/test-system.js";

/** A clock that only moves when told (on top of real time, so waits still end). */
export class ManualClock {
  #offsetMs = 0;
  readonly now = (): number => Date.now() + this.#offsetMs;
  /** Moves the clock to `ms` (never backwards). */
  set(ms: number): void {
    this.#offsetMs += Math.max(0, ms - this.now());
  }
}

/** What a timer implementation gives the suite. */
export interface TimerHarness {
  /** Builds the timer under test for a test system. */
  readonly makeTimer: NonNullable<TestSystemOptions["makeTimer"]>;
  /** Fires every timer due at `clock.now()` (what the real timer would have done by then). */
  fire(system: TestSystem): Promise<void>;
  /** Names of the timers that exist now. */
  names(system: TestSystem): string[];
  /** Called after each case. */
  reset?(): void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Receives (and deletes) every message now visible on the run's lane. */
export async function drainLane(
  system: Pick<TestSystem, "dispatcher">,
  run: Pick<RunItem, "priority">,
): Promise<Message[]> {
  const queueUrl = system.dispatcher.laneFor(run).queueUrl;
  const messages: Message[] = [];
  for (;;) {
    const out = await system.dispatcher.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
    );
    const batch = out.Messages ?? [];
    if (batch.length === 0) return messages;
    for (const m of batch) {
      messages.push(m);
      await system.dispatcher.sqs.send(
        new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: m.ReceiptHandle }),
      );
    }
  }
}

/** Reads until `ok` holds (every 50 ms), or throws after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  read: () => Promise<T>,
  ok: (value: T) => boolean,
  timeoutMs = 20_000,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (ok(value)) return value;
    if (Date.now() > until)
      throw new Error(`timed out waiting for ${what}; last value: ${JSON.stringify(value)}`);
    await sleep(50);
  }
}

async function statusEvents(system: TestSystem, runId: string) {
  const events = [];
  for await (const e of system.store.events(runId)) if (e.type === "status") events.push(e);
  return events;
}

/** Registers the suite for one implementation. */
export function timerConformance(implementation: string, harness: TimerHarness): void {
  describe(`timer port conformance: ${implementation}`, () => {
    let system: TestSystem | undefined;
    afterEach(async () => {
      await system?.stop();
      system = undefined;
      harness.reset?.();
    });

    async function start(
      app: JobApp,
      clock: ManualClock,
      workers = 0,
      extra: Partial<TestSystemOptions> = {},
    ): Promise<TestSystem> {
      system = await startTestSystem({
        app,
        workers,
        timer: false,
        streams: false,
        now: clock.now,
        makeTimer: harness.makeTimer,
        ...extra,
      });
      return system;
    }

    /** A due time beyond the timer's threshold, on a whole second plus 500 ms (exercises rounding). */
    function farDue(timer: RunTimer, clock: ManualClock): number {
      return Math.floor((clock.now() + timer.releaseThresholdMs + 3_600_000) / 1000) * 1000 + 500;
    }

    it("releases a run due beyond the threshold through the timer, not the lane", async () => {
      // Arrange
      const clock = new ManualClock();
      const app = new JobApp();
      const job = app.addJob("Later", () => "ran");
      const s = await start(app, clock);
      const notBefore = farDue(s.timer, clock);
      // Act
      const run = await s.client.trigger(job, undefined, { notBefore: new Date(notBefore) });
      // Assert
      expect(harness.names(s)).toEqual([scheduleName(run.runId, "release", 0)]);
      expect(await drainLane(s, run)).toEqual([]);
      expect(await s.store.get(run.runId)).toMatchObject({ enqueueCount: 1, timerRelease: 0 });
    });

    it("sends nothing through the timer for a run due within the threshold", async () => {
      const clock = new ManualClock();
      const app = new JobApp();
      const job = app.addJob("Soon", () => "ran");
      const s = await start(app, clock);
      const run = await s.client.trigger(job, undefined, {
        notBefore: new Date(clock.now() + s.timer.releaseThresholdMs - 60_000),
      });
      expect(harness.names(s)).toEqual([]);
      const messages = await drainLane(s, run);
      expect(messages.map((m) => JSON.parse(m.Body ?? ""))).toEqual([
        { runId: run.runId, attempt: 0, jobName: run.jobName },
      ]);
    });

    it("never releases early, then puts exactly one message on the run's lane", async () => {
      // Arrange
      const clock = new ManualClock();
      const app = new JobApp();
      const job = app.addJob("Later", () => "ran");
      const s = await start(app, clock);
      const notBefore = farDue(s.timer, clock);
      const run = await s.client.trigger(job, undefined, { notBefore: new Date(notBefore), priority: 7 });
      // Act: just before the earliest moment the contract allows, then at the due time
      clock.set(notBefore - s.timer.releaseLeadMs - 1000);
      await harness.fire(s);
      const early = await drainLane(s, run);
      clock.set(notBefore);
      await harness.fire(s);
      const due = await drainLane(s, run);
      // Assert
      expect(early).toEqual([]);
      expect(due.map((m) => JSON.parse(m.Body ?? ""))).toEqual([
        { runId: run.runId, attempt: 0, jobName: run.jobName },
      ]);
      expect(harness.names(s)).toEqual([]);
    });

    it("treats a repeated schedule for the same run and attempt as the same timer", async () => {
      const clock = new ManualClock();
      const app = new JobApp();
      const job = app.addJob("Later", () => "ran");
      const s = await start(app, clock);
      const notBefore = farDue(s.timer, clock);
      const run = await s.client.trigger(job, undefined, { notBefore: new Date(notBefore) });
      const stored = (await s.store.get(run.runId)) as RunItem;
      await s.timer.scheduleRelease(stored, notBefore);
      await s.timer.scheduleRelease(stored, notBefore);
      expect(harness.names(s)).toEqual([scheduleName(run.runId, "release", 0)]);
      clock.set(notBefore);
      await harness.fire(s);
      expect(await drainLane(s, run)).toHaveLength(1);
    });

    it("runs a released run once, not before its notBefore", async () => {
      // Arrange
      const clock = new ManualClock();
      const app = new JobApp();
      let calls = 0;
      const job = app.addJob("Later", () => ++calls);
      const s = await start(app, clock);
      const notBefore = farDue(s.timer, clock);
      const run = await s.client.trigger(job, undefined, { notBefore: new Date(notBefore) });
      // Act
      clock.set(notBefore);
      await harness.fire(s);
      s.addWorker();
      const done = await s.client.wait(run.runId);
      // Assert
      expect(done.status).toBe("Succeeded");
      expect(calls).toBe(1);
      expect(Date.parse(done.startedAt ?? "")).toBeGreaterThanOrEqual(notBefore);
    });

    it("expires a run nobody reached by notAfter while its lane is saturated and no worker polls", async () => {
      // Arrange: a backlog on the lane, no worker
      const clock = new ManualClock();
      const app = new JobApp();
      const job = app.addJob("Deadline", () => "ran");
      const s = await start(app, clock);
      for (let i = 0; i < 5; i++) await s.client.trigger(job);
      const notAfter = clock.now() + 2 * 3_600_000 + 500;
      const run = await s.client.trigger(job, undefined, { notAfter: new Date(notAfter) });
      expect(harness.names(s)).toEqual([scheduleName(run.runId, "expiry", 0)]);
      // Act
      clock.set(notAfter - 1000);
      await harness.fire(s);
      const before = await s.client.getRun(run.runId);
      clock.set(notAfter + 60_000);
      await harness.fire(s);
      // Assert
      expect(before.status).toBe("Pending");
      const after = await s.client.getRun(run.runId);
      expect(after.status).toBe("Canceled");
      expect(after.cancelReason).toMatch(/^notAfter passed/);
      expect((await statusEvents(s, run.runId)).map((e) => e.status)).toEqual(["Pending", "Canceled"]);
      expect(harness.names(s)).toEqual([]);
    });

    it("leaves a run claimed before its deadline alone when its expiry fires", async () => {
      // Arrange
      const clock = new ManualClock();
      const app = new JobApp();
      const job = app.addJob("Quick", () => "ran");
      const s = await start(app, clock, 1);
      const notAfter = clock.now() + 3_600_000;
      const run = await s.client.trigger(job, undefined, { notAfter: new Date(notAfter) });
      const done = await s.client.wait(run.runId);
      // Act
      clock.set(notAfter + 120_000);
      await harness.fire(s);
      // Assert
      expect(done.status).toBe("Succeeded");
      expect(await s.client.getRun(run.runId)).toMatchObject({ status: "Succeeded", result: "ran" });
      expect((await statusEvents(s, run.runId)).map((e) => e.status)).toEqual([
        "Pending",
        "Running",
        "Succeeded",
      ]);
    });

    it("deletes the expiry timer when the run is claimed first", async () => {
      const clock = new ManualClock();
      const app = new JobApp();
      const job = app.addJob("Quick", () => "ran");
      const s = await start(app, clock, 1);
      const run = await s.client.trigger(job, undefined, { notAfter: new Date(clock.now() + 3_600_000) });
      expect(harness.names(s)).toEqual([scheduleName(run.runId, "expiry", 0)]);
      expect((await s.client.wait(run.runId)).status).toBe("Succeeded");
      await waitFor(
        "the expiry timer to be deleted",
        async () => harness.names(s),
        (names) => names.length === 0,
        3_000,
      );
    });

    it("deletes a canceled run's timers, so nothing fires", async () => {
      // Arrange
      const clock = new ManualClock();
      const app = new JobApp();
      const job = app.addJob("Later", () => "ran");
      const s = await start(app, clock);
      const notBefore = farDue(s.timer, clock);
      const run = await s.client.trigger(job, undefined, {
        notBefore: new Date(notBefore),
        notAfter: new Date(notBefore + 3_600_000),
      });
      expect(harness.names(s).sort()).toEqual(
        [scheduleName(run.runId, "expiry", 0), scheduleName(run.runId, "release", 0)].sort(),
      );
      // Act
      await s.client.cancel(run.runId);
      clock.set(notBefore + 2 * 3_600_000);
      await harness.fire(s);
      // Assert
      expect(harness.names(s)).toEqual([]);
      expect(await drainLane(s, run)).toEqual([]);
      expect((await s.client.getRun(run.runId)).cancelReason).toBe("canceled by request");
    });

    it("releases a retry whose backoff exceeds the threshold through the timer, and runs it exactly once", async () => {
      // Arrange
      const clock = new ManualClock();
      const app = new JobApp();
      const attempts: number[] = [];
      const job = app.addJob("FlakyOnce", (_: undefined, ctx) => {
        attempts.push(ctx.attempt);
        if (ctx.attempt === 1) throw new Error("first attempt fails");
        return ctx.attempt;
      });
      const s = await start(app, clock, 1);
      // The backoff depends on the timer's threshold, known once the timer is built.
      const delay = s.timer.releaseThresholdMs + 3_600_000;
      job.withRetry({ maxRetries: 1, initialDelay: delay, maxDelay: delay, jitter: 0 });
      // Act: the first attempt fails; its retry is due beyond the threshold
      const run = await s.client.trigger(job);
      const pending = await waitFor(
        "the retry to be Pending",
        () => s.store.get(run.runId),
        (r) => r?.status === "Pending" && r.attempt === 1,
      );
      const retryAtMs = pending?.notBeforeMs ?? 0;
      // The worker schedules the release right after the retry transition commits.
      const timersWhileWaiting = await waitFor(
        "the release timer",
        async () => harness.names(s),
        (names) => names.length > 0,
      );
      await sleep(300);
      const attemptsWhileWaiting = [...attempts];
      clock.set(retryAtMs);
      await harness.fire(s);
      const done = await s.client.wait(run.runId);
      // Assert
      expect(retryAtMs - (pending?.createdMs ?? Number.NaN)).toBeGreaterThan(s.timer.releaseThresholdMs);
      expect(timersWhileWaiting).toEqual([scheduleName(run.runId, "release", 1)]);
      expect(pending).toMatchObject({ timerRelease: 1 });
      expect(attemptsWhileWaiting).toEqual([1]);
      expect(done).toMatchObject({ status: "Succeeded", attempt: 2, result: 2 });
      expect(attempts).toEqual([1, 2]);
    });

    it("makes a release the trigger could not make from the table's stream, and it fires once due", async () => {
      // Arrange: every schedule of a release fails until the trigger has returned
      const clock = new ManualClock();
      const app = new JobApp();
      const job = app.addJob("Later", () => "ran");
      let failing = true;
      const failures: string[] = [];
      const s = await start(app, clock, 0, {
        streams: true,
        makeTimer: (parts) => {
          const timer = harness.makeTimer(parts);
          const scheduleRelease = timer.scheduleRelease.bind(timer);
          timer.scheduleRelease = async (run, dueMs) => {
            if (failing) {
              failures.push(run.runId);
              throw new Error("injected: timer unavailable");
            }
            return scheduleRelease(run, dueMs);
          };
          return timer;
        },
      });
      const notBefore = farDue(s.timer, clock);
      // Act
      const run = await s.client.trigger(job, undefined, { notBefore: new Date(notBefore) });
      const namesAfterTrigger = harness.names(s);
      failing = false;
      const names = await waitFor(
        "the stream consumer's release",
        async () => harness.names(s),
        (n) => n.length > 0,
      );
      clock.set(notBefore);
      await harness.fire(s);
      // Assert
      expect(failures[0]).toBe(run.runId);
      expect(namesAfterTrigger).toEqual([]);
      expect(names).toEqual([scheduleName(run.runId, "release", 0)]);
      expect((await drainLane(s, run)).map((m) => JSON.parse(m.Body ?? ""))).toEqual([
        { runId: run.runId, attempt: 0, jobName: run.jobName },
      ]);
    });

    it("accepts deleting timers that do not exist", async () => {
      const clock = new ManualClock();
      const app = new JobApp();
      app.addJob("Any", () => undefined);
      const s = await start(app, clock);
      await expect(
        s.timer.cancelSchedules(
          { runId: "01JZZZZZZZZZZZZZZZZZZZZZZZ", attempt: 0, priority: 0, enqueueCount: 1 },
          ["release", "expiry"],
        ),
      ).resolves.toBeUndefined();
    });
  });
}
