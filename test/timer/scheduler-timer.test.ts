/**
 * The EventBridge Scheduler timer: the timer port's conformance suite against a fake
 * Scheduler (aws-sdk-client-mock, firing schedules against the local emulators), then
 * the exact requests it makes (S2, S3 AWS path, S4), error handling and configuration.
 */

import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { CreateScheduleCommand, DeleteScheduleCommand, ThrottlingException } from "@aws-sdk/client-scheduler";
import { SQSClient } from "@aws-sdk/client-sqs";
import { afterEach, describe, expect, it } from "vitest";
import { connectFromEnvironment, readSchedulerEnvironment } from "../../sdk/src/config/environment.js";
import { maxScheduleAheadMs } from "../../sdk/src/domain/run-options.js";
import { ValidationError } from "../../sdk/src/errors.js";
import { JobApp } from "../../sdk/src/jobs/job-app.js";
import { createMaintenanceLambdaHandler } from "../../sdk/src/lambda/handlers.js";
import { Dispatcher } from "../../sdk/src/queue/dispatcher.js";
import {
  atExpression,
  SchedulerTimer,
  type SchedulerTimerOptions,
} from "../../sdk/src/timer/scheduler-timer.js";
import { isExpiryEvent } from "../../sdk/src/timer/timer-actions.js";
import { scheduleName } from "../../sdk/src/timer/timer-port.js";
import { startTestSystem, type TestSystem } from "../support/test-system.js";
import {
  FakeScheduler,
  fakeDeadLetterQueueArn,
  fakeExpiryTargetArn,
  fakeGroupName,
  fakeRoleArn,
} from "./fake-scheduler.js";
import { drainLane, ManualClock, timerConformance, waitFor } from "./timer-conformance.js";

/** The fake behind the test system being built or run (one per system). */
let fake = new FakeScheduler();

function schedulerTimer(
  parts: { dispatcher: Dispatcher; now: () => number },
  extra: Partial<SchedulerTimerOptions> = {},
): SchedulerTimer {
  fake = new FakeScheduler();
  return new SchedulerTimer({
    scheduler: fake.client,
    dispatcher: parts.dispatcher,
    groupName: fakeGroupName,
    roleArn: fakeRoleArn,
    expiryTargetArn: fakeExpiryTargetArn,
    deadLetterQueueArn: fakeDeadLetterQueueArn,
    now: parts.now,
    ...extra,
  });
}

timerConformance("SchedulerTimer (fake EventBridge Scheduler)", {
  makeTimer: (parts) => schedulerTimer(parts),
  async fire(system) {
    await fake.fire(system.now(), { sqs: system.dispatcher.sqs, store: system.store });
  },
  names: () => fake.names(),
});

const hour = 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString();

describe("SchedulerTimer requests", () => {
  let system: TestSystem | undefined;
  afterEach(async () => {
    await system?.stop();
    system = undefined;
  });

  /**
   * A system whose requests to Scheduler are the client's and the workers' only: no
   * stream consumers (which make the same schedules again, at a moment of their own)
   * unless `streams`.
   */
  async function start(
    clock: ManualClock,
    extra: Partial<SchedulerTimerOptions> = {},
    workers = 0,
    streams = false,
  ) {
    const app = new JobApp();
    const job = app.addJob("Report", () => "done");
    system = await startTestSystem({
      app,
      workers,
      timer: false,
      streams,
      now: clock.now,
      makeTimer: (parts) => schedulerTimer(parts, extra),
    });
    return { s: system, job };
  }

  it("creates exactly one release schedule one minute before a notBefore three hours ahead, and deletes it on cancel (S2)", async () => {
    // Arrange
    const clock = new ManualClock();
    const { s, job } = await start(clock);
    const notBefore = Math.floor((clock.now() + 3 * hour) / 1000) * 1000 + 250;
    // Act
    const run = await s.client.trigger(job, undefined, { notBefore: new Date(notBefore) });
    const creates = fake.mock.commandCalls(CreateScheduleCommand).map((c) => c.args[0].input);
    const laneAtTrigger = await drainLane(s, run);
    await s.client.cancel(run.runId);
    const deletes = fake.mock.commandCalls(DeleteScheduleCommand).map((c) => c.args[0].input);
    // Assert
    const name = `run-${run.runId}-0-release`;
    expect(name.length).toBeLessThanOrEqual(64);
    expect(creates).toEqual([
      {
        Name: name,
        GroupName: fakeGroupName,
        Description: `Release run ${run.runId} (attempt 1)`,
        ScheduleExpression: `at(${iso(notBefore - 60_000 - 250).slice(0, 19)})`,
        ScheduleExpressionTimezone: "UTC",
        FlexibleTimeWindow: { Mode: "OFF" },
        ActionAfterCompletion: "DELETE",
        Target: {
          Arn: "arn:aws:scheduler:::aws-sdk:sqs:sendMessage",
          RoleArn: fakeRoleArn,
          Input: JSON.stringify({
            QueueUrl: s.resources.laneUrls.normal,
            MessageBody: JSON.stringify({ runId: run.runId, attempt: 0, jobName: run.jobName }),
            MessageGroupId: `${run.runId}-0-1`,
            MessageDeduplicationId: `${run.runId}-0-1`,
          }),
          RetryPolicy: { MaximumEventAgeInSeconds: 3600, MaximumRetryAttempts: 185 },
          DeadLetterConfig: { Arn: fakeDeadLetterQueueArn },
        },
      },
    ]);
    expect(laneAtTrigger).toEqual([]);
    expect(deletes).toEqual([{ Name: name, GroupName: fakeGroupName }]);
    expect(fake.names()).toEqual([]);
  });

  it("makes no schedule for a notBefore within the threshold: the message is held by visibility", async () => {
    const clock = new ManualClock();
    const { s, job } = await start(clock);
    const run = await s.client.trigger(job, undefined, { notBefore: new Date(clock.now() + 14 * 60_000) });
    expect(fake.mock.commandCalls(CreateScheduleCommand)).toHaveLength(0);
    expect(await drainLane(s, run)).toHaveLength(1);
  });

  it("schedules the expiry at notAfter rounded up to the minute, invoking the maintenance function (S3, AWS path)", async () => {
    // Arrange
    const clock = new ManualClock();
    const { s, job } = await start(clock);
    const notAfter = clock.now() + 2 * hour;
    // Act
    const run = await s.client.trigger(job, undefined, { notAfter: new Date(notAfter) });
    // Assert
    const [create, ...more] = fake.mock.commandCalls(CreateScheduleCommand).map((c) => c.args[0].input);
    expect(more).toEqual([]);
    expect(create).toMatchObject({
      Name: `run-${run.runId}-expiry`,
      GroupName: fakeGroupName,
      ScheduleExpression: `at(${iso(Math.ceil(notAfter / 60_000) * 60_000).slice(0, 19)})`,
      ScheduleExpressionTimezone: "UTC",
      FlexibleTimeWindow: { Mode: "OFF" },
      ActionAfterCompletion: "DELETE",
      Target: {
        Arn: fakeExpiryTargetArn,
        RoleArn: fakeRoleArn,
        Input: JSON.stringify({ expireRunId: run.runId }),
        RetryPolicy: { MaximumEventAgeInSeconds: 3600, MaximumRetryAttempts: 185 },
        DeadLetterConfig: { Arn: fakeDeadLetterQueueArn },
      },
    });
    expect(isExpiryEvent(JSON.parse(create?.Target?.Input ?? ""))).toBe(true);
    expect(await s.store.get(run.runId)).toMatchObject({ timerExpiry: true });
  });

  it("sends a long retry's message with the retry's attempt and send count (S4)", async () => {
    const clock = new ManualClock();
    const app = new JobApp();
    const job = app
      .addJob("FailsOnce", (_: undefined, ctx) => {
        if (ctx.attempt === 1) throw new Error("once");
        return ctx.attempt;
      })
      .withRetry({ maxRetries: 1, initialDelay: "2h", maxDelay: "2h", jitter: 0 });
    system = await startTestSystem({
      app,
      workers: 1,
      timer: false,
      streams: false,
      now: clock.now,
      makeTimer: (parts) => schedulerTimer(parts),
    });
    const run = await system.client.trigger(job);
    for (let i = 0; i < 200 && fake.names().length === 0; i++) await new Promise((r) => setTimeout(r, 50));
    const [create] = fake.mock.commandCalls(CreateScheduleCommand).map((c) => c.args[0].input);
    expect(create?.Name).toBe(`run-${run.runId}-1-release`);
    expect(JSON.parse(create?.Target?.Input ?? "")).toMatchObject({
      MessageBody: JSON.stringify({ runId: run.runId, attempt: 1, jobName: run.jobName }),
      MessageDeduplicationId: `${run.runId}-1-2`,
    });
  });

  it("treats ConflictException as an existing schedule", async () => {
    const clock = new ManualClock();
    const { s, job } = await start(clock);
    const notBefore = clock.now() + 3 * hour;
    const run = await s.client.trigger(job, undefined, { notBefore: new Date(notBefore) });
    const stored = await s.store.get(run.runId);
    if (!stored) throw new Error("run not stored");
    await expect(s.timer.scheduleRelease(stored, notBefore)).resolves.toBeUndefined();
    expect(fake.mock.commandCalls(CreateScheduleCommand)).toHaveLength(2);
    expect(fake.names()).toHaveLength(1);
  });

  it("keeps a run whose schedule could not be created: the stream consumer makes it once Scheduler accepts again", async () => {
    // Arrange: Scheduler throttles every create, the trigger's and the stream consumer's
    const clock = new ManualClock();
    const { s, job } = await start(clock, {}, 0, true);
    fake.createFailure = new ThrottlingException({
      message: "Rate exceeded",
      Message: "Rate exceeded",
      $metadata: { httpStatusCode: 429 },
    });
    const notBefore = clock.now() + 3 * hour;
    // Act
    const run = await s.client.trigger(job, undefined, { notBefore: new Date(notBefore) });
    const refused = await waitFor(
      "the stream consumer to try too",
      async () => fake.mock.commandCalls(CreateScheduleCommand).length,
      (calls) => calls >= 2,
    );
    const namesWhileThrottled = fake.names();
    fake.createFailure = undefined;
    const names = await waitFor(
      "the schedule",
      async () => fake.names(),
      (n) => n.length > 0,
    );
    clock.set(notBefore);
    await fake.fire(s.now(), { sqs: s.dispatcher.sqs, store: s.store });
    // Assert
    expect(run.status).toBe("Pending");
    expect(refused).toBeGreaterThanOrEqual(2);
    expect(namesWhileThrottled).toEqual([]);
    expect(names).toEqual([`run-${run.runId}-0-release`]);
    expect(await s.store.get(run.runId)).toMatchObject({
      status: "Pending",
      enqueueCount: 1,
      timerRelease: 0,
    });
    expect((await drainLane(s, run)).map((m) => JSON.parse(m.Body ?? ""))).toEqual([
      { runId: run.runId, attempt: 0, jobName: run.jobName },
    ]);
  });

  it("rejects bad times before any schedule or write, and leaves a deadline past the horizon to the claim (S5)", async () => {
    // Arrange
    const clock = new ManualClock();
    const { s, job } = await start(clock);
    const now = clock.now();
    // Act
    const errors = await Promise.all(
      [
        { notBefore: new Date(now + maxScheduleAheadMs + 1000) },
        { notBefore: "2030-01-01T00:00:00" },
        { notBefore: "not a date Z" },
        { notBefore: new Date(Number.NaN) },
        { notAfter: new Date(now - 1000) },
        { notBefore: new Date(now + 2 * hour), notAfter: new Date(now + hour) },
      ].map((options) => s.client.trigger(job, undefined, options).catch((e: unknown) => e)),
    );
    const createsAfterBadInput = fake.mock.commandCalls(CreateScheduleCommand).length;
    const far = await s.client.trigger(job, undefined, {
      notAfter: new Date(now + maxScheduleAheadMs + hour),
    });
    // Assert
    expect(errors.map((e) => (e as ValidationError).path)).toEqual([
      "options.notBefore",
      "options.notBefore",
      "options.notBefore",
      "options.notBefore",
      "options.notAfter",
      "options.notAfter",
    ]);
    expect(errors.every((e) => e instanceof ValidationError)).toBe(true);
    expect(createsAfterBadInput).toBe(0);
    expect(fake.mock.commandCalls(CreateScheduleCommand)).toHaveLength(0);
    expect((await s.store.get(far.runId))?.timerExpiry).toBeUndefined();
  });

  it("makes no expiry schedule without an expiry target", async () => {
    const clock = new ManualClock();
    const { s, job } = await start(clock, { expiryTargetArn: undefined });
    const run = await s.client.trigger(job, undefined, { notAfter: new Date(clock.now() + hour) });
    expect(s.timer.expiresRuns).toBe(false);
    expect(fake.mock.commandCalls(CreateScheduleCommand)).toHaveLength(0);
    expect((await s.store.get(run.runId))?.timerExpiry).toBeUndefined();
  });
});

describe("SchedulerTimer settings and names", () => {
  const dispatcher = new Dispatcher(new SQSClient({ region: "us-east-1" }), [
    {
      name: "normal",
      minPriority: Number.NEGATIVE_INFINITY,
      queueUrl: "https://sqs.us-east-1.amazonaws.com/123456789012/jobs-normal.fifo",
    },
  ]);

  it("names schedules within Scheduler's rules, per run, attempt and purpose", () => {
    const runId = "01JH4Q2X7V8Y9Z0A1B2C3D4E5F";
    expect(scheduleName(runId, "release", 12)).toBe(`run-${runId}-12-release`);
    expect(scheduleName(runId, "expiry", 12)).toBe(`run-${runId}-expiry`);
    expect(() => scheduleName("a/b", "release", 0)).toThrow(ValidationError);
    expect(() => scheduleName("x".repeat(60), "release", 0)).toThrow(ValidationError);
  });

  it("writes at() in UTC to the second", () => {
    expect(atExpression(Date.parse("2030-01-02T03:04:05.678Z"))).toBe("at(2030-01-02T03:04:05)");
  });

  it("uses the role's partition for the universal target", async () => {
    fake = new FakeScheduler();
    const timer = new SchedulerTimer({
      scheduler: fake.client,
      dispatcher,
      groupName: "g",
      roleArn: "arn:aws-cn:iam::123456789012:role/r",
      now: () => 0,
    });
    await timer.scheduleRelease(
      { runId: "01JH4Q2X7V8Y9Z0A1B2C3D4E5F", attempt: 0, priority: 0, enqueueCount: 1 },
      3 * hour,
    );
    const [create] = fake.mock.commandCalls(CreateScheduleCommand).map((c) => c.args[0].input);
    expect(create?.Target?.Arn).toBe("arn:aws-cn:scheduler:::aws-sdk:sqs:sendMessage");
    expect(create?.Target?.DeadLetterConfig).toBeUndefined();
  });

  it("rejects a threshold that is not above the lead or beyond the visibility hold", () => {
    const base = { scheduler: fake.client, dispatcher, groupName: "g", roleArn: fakeRoleArn };
    expect(() => new SchedulerTimer({ ...base, releaseThresholdMs: 60_000 })).toThrow(ValidationError);
    expect(() => new SchedulerTimer({ ...base, releaseThresholdMs: 13 * hour })).toThrow(ValidationError);
    expect(() => new SchedulerTimer({ ...base, roleArn: "not-an-arn" })).toThrow(ValidationError);
  });
});

describe("Scheduler configuration from the environment", () => {
  const base = {
    JOBS_TABLE_NAME: "jobs",
    JOBS_LANE_URLS: JSON.stringify({ high: "h", normal: "n", low: "l" }),
  };

  it("reads no timer when neither the group nor the role is set", () => {
    expect(readSchedulerEnvironment(base)).toBeUndefined();
  });

  it("rejects a group without a role, naming the missing variable", () => {
    expect(() => readSchedulerEnvironment({ ...base, JOBS_SCHEDULE_GROUP_NAME: "g" })).toThrow(
      "JOBS_SCHEDULER_ROLE_ARN: is not set, but JOBS_SCHEDULE_GROUP_NAME is",
    );
  });

  it("builds a SchedulerTimer from the variables", () => {
    const env = {
      ...base,
      JOBS_SCHEDULE_GROUP_NAME: fakeGroupName,
      JOBS_SCHEDULER_ROLE_ARN: fakeRoleArn,
      JOBS_SCHEDULER_DLQ_ARN: fakeDeadLetterQueueArn,
      JOBS_SCHEDULER_EXPIRY_TARGET_ARN: fakeExpiryTargetArn,
    };
    expect(readSchedulerEnvironment(env)).toEqual({
      groupName: fakeGroupName,
      roleArn: fakeRoleArn,
      deadLetterQueueArn: fakeDeadLetterQueueArn,
      expiryTargetArn: fakeExpiryTargetArn,
    });
    const clients = {
      dynamodb: new DynamoDBClient({ region: "us-east-1" }),
      sqs: new SQSClient({ region: "us-east-1" }),
      scheduler: new FakeScheduler().client,
    };
    const system = connectFromEnvironment(clients, env);
    expect(system.timer).toBeInstanceOf(SchedulerTimer);
    expect(system.timer?.expiresRuns).toBe(true);
    const withoutTarget = connectFromEnvironment(clients, { ...env, JOBS_SCHEDULER_EXPIRY_TARGET_ARN: "" });
    expect(withoutTarget.timer?.expiresRuns).toBe(false);
    const maintenance = connectFromEnvironment(
      { ...clients, expiryTargetArn: fakeExpiryTargetArn },
      { ...env, JOBS_SCHEDULER_EXPIRY_TARGET_ARN: "" },
    );
    expect(maintenance.timer?.expiresRuns).toBe(true);
    expect(connectFromEnvironment(clients, base).timer).toBeUndefined();
  });
});

describe("the maintenance function as the expiry target", () => {
  it("expires the run an expiry event names, and runs the maintenance pass on any other event", async () => {
    // Arrange: the handler builds its own clients from the environment, pointed at the emulators
    const app = new JobApp();
    const job = app.addJob("Deadline", () => "ran");
    const s = await startTestSystem({ app, workers: 0, timer: false });
    const saved = { ...process.env };
    Object.assign(process.env, {
      AWS_ENDPOINT_URL_DYNAMODB: await s.resources.dynamodb.config
        .endpoint?.()
        .then((e) => `${e.protocol}//${e.hostname}:${e.port}`),
      AWS_ENDPOINT_URL_SQS: await s.resources.sqs.config
        .endpoint?.()
        .then((e) => `${e.protocol}//${e.hostname}:${e.port}`),
      AWS_REGION: "us-east-1",
      AWS_ACCESS_KEY_ID: "local",
      AWS_SECRET_ACCESS_KEY: "local",
    });
    try {
      const handler = createMaintenanceLambdaHandler(app, {
        JOBS_TABLE_NAME: s.resources.tableName,
        JOBS_LANE_URLS: JSON.stringify(s.resources.laneUrls),
      });
      const run = await s.client.trigger(job, undefined, { notAfter: new Date(Date.now() + 300) });
      await new Promise((r) => setTimeout(r, 400));
      // Act
      const expired = await handler({ expireRunId: run.runId }, { invokedFunctionArn: fakeExpiryTargetArn });
      const again = await handler({ expireRunId: run.runId }, { invokedFunctionArn: fakeExpiryTargetArn });
      const maintained = await handler({}, { invokedFunctionArn: fakeExpiryTargetArn });
      // Assert
      expect(expired).toEqual({ expireRunId: run.runId, expired: true });
      expect(again).toEqual({ expireRunId: run.runId, expired: false });
      expect(maintained).toEqual({
        deadLetters: { failed: 0, recovered: 0, resent: 0, errors: 0 },
        released: 0,
        errors: 0,
      });
      expect(await s.client.getRun(run.runId)).toMatchObject({
        status: "Canceled",
        cancelReason: expect.stringMatching(/^notAfter passed/),
      });
    } finally {
      process.env = saved;
      await s.stop();
    }
  });
});
