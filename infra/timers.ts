/**
 * The run timers' side of EventBridge Scheduler: the group the SDK creates one-time
 * schedules in (run releases, `notAfter` expiries, long retry backoffs), the role those
 * schedules assume, and the dead-letter queue for the invocations Scheduler could not deliver.
 */
import { Arn, Duration, type RemovalPolicy, Stack } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as kms from "aws-cdk-lib/aws-kms";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import * as scheduler from "aws-cdk-lib/aws-scheduler";
import * as sqs from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { laneSenderKeyActions, queueEncryption } from "./encryption.js";
import { jobSystemEnvironmentVariables } from "./environment.js";
import type { JobLanes } from "./lanes.js";

/** Properties of {@link JobTimers}. */
export interface JobTimersProps {
  /** The lanes release schedules send wake-ups to. */
  readonly lanes: JobLanes;
  /** What happens to the group and the dead-letter queue when they leave the stack. */
  readonly removalPolicy: RemovalPolicy;
  /**
   * The customer managed key of the lanes (and of the dead-letter queue).
   *
   * @default - SQS managed encryption (SSE-SQS)
   */
  readonly encryptionKey?: kms.IKey;
}

/**
 * The Scheduler timer's resources. The role may send to the lanes and the dead-letter
 * queue, and invoke the expiry target once {@link allowExpiryTarget} names it; only
 * schedules of this group in this account may assume it.
 *
 * @example
 * ```ts
 * const timers = new JobTimers(this, "Timers", { lanes, removalPolicy: RemovalPolicy.RETAIN });
 * timers.grantManageSchedules(fn);
 * ```
 */
export class JobTimers extends Construct {
  /** The group the SDK creates one-time schedules in. */
  readonly scheduleGroup: scheduler.ScheduleGroup;
  /** The role those schedules assume. */
  readonly role: iam.Role;
  /** Releases and expiries Scheduler could not deliver after every retry (a standard queue). */
  readonly deadLetterQueue: sqs.Queue;
  /** The timer's variables: group name, role ARN and dead-letter queue ARN. */
  readonly environment: Readonly<Record<string, string>>;

  constructor(scope: Construct, id: string, props: JobTimersProps) {
    super(scope, id);
    this.scheduleGroup = new scheduler.ScheduleGroup(this, "ScheduleGroup", {
      removalPolicy: props.removalPolicy,
    });
    const stack = Stack.of(this);
    this.role = new iam.Role(this, "SchedulerRole", {
      description:
        "Assumed by the job system's one-time schedules: run releases (lanes) and expiries (maintenance)",
      // Only schedules of this account's group may assume it (confused deputy guard).
      assumedBy: new iam.ServicePrincipal("scheduler.amazonaws.com", {
        conditions: {
          StringEquals: {
            "aws:SourceAccount": stack.account,
            "aws:SourceArn": this.scheduleGroup.scheduleGroupArn,
          },
        },
      }),
    });
    props.lanes.grantSendMessages(this.role);
    props.encryptionKey?.grant(this.role, ...laneSenderKeyActions);

    // A standard queue: Scheduler's dead-letter queues cannot be FIFO.
    this.deadLetterQueue = new sqs.Queue(this, "ScheduleDeadLetterQueue", {
      retentionPeriod: Duration.days(14),
      removalPolicy: props.removalPolicy,
      ...queueEncryption(props.encryptionKey),
    });
    iam.Grant.addToPrincipal({
      grantee: this.role,
      actions: ["sqs:SendMessage"],
      resourceArns: [this.deadLetterQueue.queueArn],
    });

    const v = jobSystemEnvironmentVariables;
    this.environment = {
      [v.scheduleGroupName]: this.scheduleGroup.scheduleGroupName,
      [v.schedulerRoleArn]: this.role.roleArn,
      [v.schedulerDeadLetterQueueArn]: this.deadLetterQueue.queueArn,
    };
  }

  /**
   * What the SDK's Scheduler timer needs: `scheduler:CreateSchedule` and `DeleteSchedule`
   * on the group's schedules, and `iam:PassRole` of the role, to EventBridge Scheduler only.
   */
  grantManageSchedules(grantee: iam.IGrantable): iam.Grant {
    const schedules = iam.Grant.addToPrincipal({
      grantee,
      actions: ["scheduler:CreateSchedule", "scheduler:DeleteSchedule"],
      // Schedules are named per run and purpose at run time: the narrowest ARN is the group's.
      resourceArns: [
        Arn.format(
          {
            service: "scheduler",
            resource: "schedule",
            resourceName: `${this.scheduleGroup.scheduleGroupName}/*`,
          },
          Stack.of(this),
        ),
      ],
    });
    const passRole = iam.Grant.addToPrincipal({
      grantee,
      actions: ["iam:PassRole"],
      resourceArns: [this.role.roleArn],
      conditions: { StringEquals: { "iam:PassedToService": "scheduler.amazonaws.com" } },
    });
    return schedules.combine(passRole);
  }

  /** Lets the schedules invoke `target`, the function runs' expiry schedules call (its unqualified ARN only). */
  allowExpiryTarget(target: lambda.IFunction): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee: this.role,
      actions: ["lambda:InvokeFunction"],
      resourceArns: [target.functionArn],
    });
  }

  /** Messages in the dead-letter queue (maximum over 1 minute by default). */
  metricDeadLetterMessages(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
      period: Duration.minutes(1),
      statistic: cloudwatch.Stats.MAXIMUM,
      ...props,
    });
  }
}
