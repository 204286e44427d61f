/**
 * A fake EventBridge Scheduler for tests: `aws-sdk-client-mock` on one SchedulerClient
 * records the requests (for shape assertions) and keeps the schedules they create, and
 * {@link FakeScheduler.fire} "fires" the ones that are due by executing their targets
 * against the local emulators, as Scheduler would:
 *
 * - the universal `sqs:sendMessage` target: its `Input` is sent as a `SendMessage` request;
 * - the expiry target (the maintenance function): its `Input` goes through the same
 *   `isExpiryEvent` / `expireRun` the maintenance handler uses.
 *
 * Like Scheduler: a create with an existing name is a `ConflictException`, a delete of a
 * missing one a `ResourceNotFoundException`, and a fired schedule deletes itself
 * (`ActionAfterCompletion: DELETE`, the only mode the timer uses). While
 * {@link FakeScheduler.createFailure} is set, every create fails with it (Scheduler
 * throttling, say) and makes nothing.
 */
import {
  ConflictException,
  CreateScheduleCommand,
  type CreateScheduleCommandInput,
  DeleteScheduleCommand,
  ResourceNotFoundException,
  SchedulerClient,
} from "@aws-sdk/client-scheduler";
import { SendMessageCommand, type SendMessageCommandInput, type SQSClient } from "@aws-sdk/client-sqs";
import { type AwsClientStub, mockClient } from "aws-sdk-client-mock";
import type { RunStore } from "../../sdk/src/store/run-store.js";
import { expireRun, isExpiryEvent } from "../../sdk/src/timer/timer-actions.js";

export const fakeGroupName = "jobs-run-timers";
export const fakeRoleArn = "arn:aws:iam::123456789012:role/jobs-scheduler";
export const fakeExpiryTargetArn = "arn:aws:lambda:us-east-1:123456789012:function:jobs-maintenance";
export const fakeDeadLetterQueueArn = "arn:aws:sqs:us-east-1:123456789012:jobs-scheduler-dlq";

/** Epoch ms of an `at(yyyy-mm-ddThh:mm:ss)` expression read in UTC. */
export function atMs(expression: string | undefined): number {
  const match = /^at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)$/.exec(expression ?? "");
  if (!match) throw new Error(`not a one-time schedule expression: ${expression}`);
  return Date.parse(`${match[1]}Z`);
}

export class FakeScheduler {
  readonly client = new SchedulerClient({
    region: "us-east-1",
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
  });
  readonly mock: AwsClientStub<SchedulerClient> = mockClient(this.client);
  /** Live schedules by name (one group). */
  readonly schedules = new Map<string, CreateScheduleCommandInput>();
  /** The error every create fails with while set. */
  createFailure: Error | undefined;

  constructor() {
    this.mock.on(CreateScheduleCommand).callsFake((input: CreateScheduleCommandInput) => {
      if (this.createFailure) throw this.createFailure;
      const name = input.Name ?? "";
      if (this.schedules.has(name)) {
        throw new ConflictException({
          message: `Schedule ${name} already exists.`,
          Message: `Schedule ${name} already exists.`,
          $metadata: { httpStatusCode: 409 },
        });
      }
      this.schedules.set(name, input);
      return { ScheduleArn: `arn:aws:scheduler:us-east-1:123456789012:schedule/${input.GroupName}/${name}` };
    });
    this.mock.on(DeleteScheduleCommand).callsFake((input: { Name?: string }) => {
      if (!this.schedules.delete(input.Name ?? "")) {
        throw new ResourceNotFoundException({
          message: `Schedule ${input.Name} does not exist.`,
          Message: `Schedule ${input.Name} does not exist.`,
          $metadata: { httpStatusCode: 404 },
        });
      }
      return {};
    });
  }

  names(): string[] {
    return [...this.schedules.keys()];
  }

  /** Executes every schedule whose time is at or before `nowMs`, soonest first; returns how many fired. */
  async fire(nowMs: number, targets: { readonly sqs: SQSClient; readonly store: RunStore }): Promise<number> {
    const due = [...this.schedules.values()]
      .filter((s) => atMs(s.ScheduleExpression) <= nowMs)
      .sort((a, b) => atMs(a.ScheduleExpression) - atMs(b.ScheduleExpression));
    for (const schedule of due) {
      if (schedule.ScheduleExpressionTimezone !== "UTC") throw new Error("the fake reads at() in UTC only");
      this.schedules.delete(schedule.Name ?? "");
      const target = schedule.Target;
      const input: unknown = JSON.parse(target?.Input ?? "null");
      if (/^arn:[a-z-]+:scheduler:::aws-sdk:sqs:sendMessage$/.test(target?.Arn ?? "")) {
        await targets.sqs.send(new SendMessageCommand(input as SendMessageCommandInput));
      } else if (target?.Arn === fakeExpiryTargetArn && isExpiryEvent(input)) {
        await expireRun(targets.store, input.expireRunId, () => nowMs);
      } else {
        throw new Error(`the fake cannot execute target ${target?.Arn} with input ${target?.Input}`);
      }
    }
    return due.length;
  }
}
