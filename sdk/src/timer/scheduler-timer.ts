/**
 * The timer port on AWS: one-time EventBridge Scheduler schedules.
 *
 * Every timer is an `at()` schedule in the job system's schedule group, with
 * `FlexibleTimeWindow: OFF`, `ActionAfterCompletion: DELETE` (it removes itself once it
 * has fired), a retry policy and, when configured, a dead-letter queue. Names are
 * deterministic per run, attempt and purpose ({@link scheduleName}), so a repeated
 * create gets `ConflictException`, which counts as success.
 *
 * **Release** target: Scheduler's universal target `arn:<partition>:scheduler:::aws-sdk:sqs:sendMessage`
 * with the exact `SendMessage` request the dispatcher would make (queue URL, body
 * `{ runId, attempt }`, group id, deduplication id). Not the templated SQS target:
 * it only takes a `MessageGroupId`, and for a FIFO queue it requires content-based
 * deduplication (Scheduler API reference, `SqsParameters`), which the lanes keep off
 * because each message carries its own deduplication id. The role needs only
 * `sqs:SendMessage` on the lanes.
 *
 * **Precision.** Scheduler invokes a target within the minute after the schedule's time
 * and never before it ("All schedule types on EventBridge Scheduler invoke their
 * targets with 60 second precision": Scheduler user guide, "Schedule types"). So a
 * release is scheduled {@link SchedulerTimerOptions.releaseLeadMs} (one minute) before
 * the run is due: its message arrives up to a minute early and the worker holds it by
 * visibility until `notBefore`, so the run starts within about a second of `notBefore`
 * rather than up to a minute late. An expiry is scheduled at `notAfter` rounded up to
 * the next whole minute: never early, whichever way Scheduler reads the seconds, and at
 * most about two minutes late; meanwhile the worker refuses to start the run anyway
 * (it checks `notAfter` at claim time).
 *
 * **Expiry** target: the maintenance function, invoked with `{ "expireRunId": "…" }`
 * (see `timer-actions.ts`), which applies the same conditional `expire` transition as
 * the worker. Why not something without code:
 * - a universal DynamoDB target cannot do it: `transactWriteItems` is one of the actions
 *   Scheduler refuses ("transact" prefix), and a single `updateItem` could flip the
 *   status but not append the status event with the next sequence number in the same
 *   write (invariants 1 and 4);
 * - a message on the lane, which the worker would turn into an expiry (it already
 *   expires at claim time), waits behind the lane's backlog: a deadline that passes
 *   while the queue is saturated would only be recorded once the backlog drains, which
 *   is exactly the case the expiry is for. The function invocation does not queue
 *   behind runs.
 * Without an expiry target ({@link SchedulerTimerOptions.expiryTargetArn} unset) the
 * timer schedules no expiry (`expiresRuns` is false) and deadlines are enforced by the
 * worker at claim time.
 *
 * **Threshold.** Runs due more than {@link SchedulerTimerOptions.releaseThresholdMs}
 * (15 minutes) ahead get a schedule; closer ones are sent at once and held by
 * visibility. A held message is in flight, and a FIFO queue allows 120,000 in-flight
 * messages, past which "processing may be impacted" (SQS developer guide, "Amazon SQS
 * FIFO queue quotas"): hours of held `notBefore` runs would eat into that budget, which
 * the lane's real work needs, and they are invisible to an operator (in flight, not
 * queued). Every further 12-hour hold also costs a receive and a visibility change.
 * Fifteen minutes is SQS's own ceiling for message delays, and below it a schedule
 * would cost a create (and often a delete) to save a hold of a few minutes.
 */
import {
  ConflictException,
  CreateScheduleCommand,
  type CreateScheduleCommandInput,
  DeleteScheduleCommand,
  ResourceNotFoundException,
  type SchedulerClient,
  type Target,
} from "@aws-sdk/client-scheduler";
import { ValidationError } from "../errors.js";
import type { Dispatcher } from "../queue/dispatcher.js";
import type { ExpiryEvent } from "./timer-actions.js";
import {
  assertTimerSettings,
  type RunTimer,
  scheduleName,
  type TimerPurpose,
  type TimerRun,
} from "./timer-port.js";

/** Where and how the timer creates its schedules. */
export interface SchedulerTimerOptions {
  /** The Scheduler client (build it once, at module scope). */
  readonly scheduler: SchedulerClient;
  /** The lanes: release messages go to the run's lane, as the dispatcher would send them. */
  readonly dispatcher: Dispatcher;
  /** The schedule group (env `JOBS_SCHEDULE_GROUP_NAME`). */
  readonly groupName: string;
  /** The role Scheduler assumes to reach the targets (env `JOBS_SCHEDULER_ROLE_ARN`); its partition is used for the universal target. */
  readonly roleArn: string;
  /** The function expiry schedules invoke: the maintenance function (env `JOBS_SCHEDULER_EXPIRY_TARGET_ARN`). @default none: no expiry schedules */
  readonly expiryTargetArn?: string;
  /** A standard SQS queue for invocations that failed every retry (env `JOBS_SCHEDULER_DLQ_ARN`). @default none */
  readonly deadLetterQueueArn?: string;
  /** Runs due further ahead than this get a schedule, in ms. @default 900000 (15 minutes) */
  readonly releaseThresholdMs?: number;
  /** How long before the due time a release fires, in ms. @default 60000 (Scheduler's precision) */
  readonly releaseLeadMs?: number;
  /** Scheduler stops retrying a failed invocation after this long, in seconds (60..86400). @default 3600 */
  readonly maximumEventAgeSeconds?: number;
  /** Retries of a failed invocation (0..185). @default 185 (bounded by the event age) */
  readonly maximumRetryAttempts?: number;
  /** Clock, epoch ms. @default Date.now */
  readonly now?: () => number;
}

/** Default threshold: 15 minutes (see the module comment). */
export const defaultSchedulerReleaseThresholdMs = 15 * 60_000;

const schedulerPrecisionMs = 60_000;

/** `at(yyyy-mm-ddThh:mm:ss)` for epoch ms, read in UTC (the schedules set their zone to UTC). */
export function atExpression(ms: number): string {
  return `at(${new Date(ms).toISOString().slice(0, 19)})`;
}

/**
 * The EventBridge Scheduler timer (see the module comment). `connectFromEnvironment`
 * builds one from the construct's variables; build one yourself for other setups.
 *
 * @example
 * ```ts
 * const scheduler = new SchedulerClient({});
 * const system = connect({ dynamodb, sqs, tableName, laneUrls,
 *   timer: ({ dispatcher }) => new SchedulerTimer({ scheduler, dispatcher, groupName, roleArn, expiryTargetArn }) });
 * ```
 */
export class SchedulerTimer implements RunTimer {
  readonly releaseThresholdMs: number;
  readonly releaseLeadMs: number;
  readonly expiresRuns: boolean;
  readonly #options: SchedulerTimerOptions;
  readonly #now: () => number;
  readonly #partition: string;

  constructor(options: SchedulerTimerOptions) {
    this.#options = options;
    this.releaseThresholdMs = options.releaseThresholdMs ?? defaultSchedulerReleaseThresholdMs;
    this.releaseLeadMs = options.releaseLeadMs ?? schedulerPrecisionMs;
    this.expiresRuns = options.expiryTargetArn !== undefined;
    this.#now = options.now ?? Date.now;
    assertTimerSettings(this.releaseThresholdMs, this.releaseLeadMs, "SchedulerTimer");
    const partition = options.roleArn.split(":")[1];
    if (!options.roleArn.startsWith("arn:") || !partition) {
      throw new ValidationError("SchedulerTimer.roleArn", `"${options.roleArn}" is not a role ARN`);
    }
    this.#partition = partition;
  }

  /** Creates `run-<runId>-<attempt>-release`, firing `releaseLeadMs` before `dueMs` (whole seconds, rounded down). */
  async scheduleRelease(run: TimerRun, dueMs: number): Promise<void> {
    const atMs = Math.max(floorTo(dueMs - this.releaseLeadMs, 1000), ceilTo(this.#now(), 1000));
    await this.#create(
      scheduleName(run.runId, "release", run.attempt),
      atMs,
      `Release run ${run.runId} (attempt ${run.attempt + 1})`,
      {
        Arn: `arn:${this.#partition}:scheduler:::aws-sdk:sqs:sendMessage`,
        Input: JSON.stringify(this.#options.dispatcher.sendMessageInput(run)),
      },
    );
  }

  /** Creates `run-<runId>-expiry`, firing at `notAfterMs` rounded up to a whole minute. No-op without an expiry target. */
  async scheduleExpiry(run: TimerRun, notAfterMs: number): Promise<void> {
    const target = this.#options.expiryTargetArn;
    if (target === undefined) return;
    const event: ExpiryEvent = { expireRunId: run.runId };
    await this.#create(
      scheduleName(run.runId, "expiry", run.attempt),
      ceilTo(notAfterMs, 60_000),
      `Expire run ${run.runId} at its notAfter`,
      {
        Arn: target,
        Input: JSON.stringify(event),
      },
    );
  }

  /** Deletes the schedules; one that is gone (fired, or never created) counts as deleted. */
  async cancelSchedules(run: TimerRun, purposes: readonly TimerPurpose[]): Promise<void> {
    const wanted = purposes.filter((p) => p === "release" || this.expiresRuns);
    await Promise.all(
      wanted.map(async (purpose) => {
        try {
          await this.#options.scheduler.send(
            new DeleteScheduleCommand({
              Name: scheduleName(run.runId, purpose, run.attempt),
              GroupName: this.#options.groupName,
            }),
          );
        } catch (error) {
          if (
            !(error instanceof ResourceNotFoundException) &&
            (error as Error).name !== "ResourceNotFoundException"
          )
            throw error;
        }
      }),
    );
  }

  async #create(
    name: string,
    atMs: number,
    description: string,
    target: Pick<Target, "Arn" | "Input">,
  ): Promise<void> {
    const input: CreateScheduleCommandInput = {
      Name: name,
      GroupName: this.#options.groupName,
      Description: description,
      ScheduleExpression: atExpression(atMs),
      ScheduleExpressionTimezone: "UTC",
      FlexibleTimeWindow: { Mode: "OFF" },
      ActionAfterCompletion: "DELETE",
      Target: {
        ...target,
        RoleArn: this.#options.roleArn,
        RetryPolicy: {
          MaximumEventAgeInSeconds: this.#options.maximumEventAgeSeconds ?? 3600,
          MaximumRetryAttempts: this.#options.maximumRetryAttempts ?? 185,
        },
        ...(this.#options.deadLetterQueueArn
          ? { DeadLetterConfig: { Arn: this.#options.deadLetterQueueArn } }
          : {}),
      },
    };
    try {
      await this.#options.scheduler.send(new CreateScheduleCommand(input));
    } catch (error) {
      // Same name, same run, attempt and purpose: an earlier call (or an SDK retry) made it.
      if (error instanceof ConflictException || (error as Error).name === "ConflictException") return;
      throw error;
    }
  }
}

function floorTo(ms: number, unit: number): number {
  return Math.floor(ms / unit) * unit;
}

function ceilTo(ms: number, unit: number): number {
  return Math.ceil(ms / unit) * unit;
}
