/**
 * The job system's alarms: dead letters and the oldest message's age per lane,
 * undelivered schedules, each function's errors, and how far each stream consumer lags.
 * They have no actions: the user adds theirs.
 */
import { Duration } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import { Construct } from "constructs";
import type { JobsTable } from "./jobs-table.js";
import type { JobLanes } from "./lanes.js";
import type { JobTimers } from "./timers.js";

/**
 * Lag of a stream consumer at which its alarm fires. A consumer retries a failing record
 * until it succeeds or leaves the stream (24 hours), and a record its handler reports as
 * failed is not a function error: only the lag shows it. Healthy lag is seconds for the
 * dispatch and about a minute (its batching window) for the projections.
 */
export const streamIteratorAgeAlarmAge = Duration.minutes(15);

/** Properties of {@link JobSystemAlarms}. */
export interface JobSystemAlarmsProps {
  readonly lanes: JobLanes;
  readonly timers: JobTimers;
  /** The table, whose stream consumers get a lag alarm. */
  readonly table: JobsTable;
  /** Every function, by id: each gets an errors alarm. */
  readonly functions: Readonly<Record<string, lambda.IFunction>>;
  /** Age of a lane's oldest message at which its alarm fires. */
  readonly oldestMessageAlarmAge: Duration;
}

/**
 * The alarms, each firing on one evaluation period and treating missing data as fine.
 *
 * @example
 * ```ts
 * const { alarms } = new JobSystemAlarms(this, "Alarms", { lanes, timers, table, functions, oldestMessageAlarmAge: Duration.minutes(30) });
 * for (const alarm of alarms) alarm.addAlarmAction(new SnsAction(topic));
 * ```
 */
export class JobSystemAlarms extends Construct {
  /** Every alarm, in the order: per lane, schedules, per function's errors, per stream consumer. */
  readonly alarms: readonly cloudwatch.Alarm[];

  constructor(scope: Construct, id: string, props: JobSystemAlarmsProps) {
    super(scope, id);
    const above = (
      alarmId: string,
      alarmDescription: string,
      metric: cloudwatch.IMetric,
      threshold: number,
      comparisonOperator = cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    ) =>
      new cloudwatch.Alarm(this, alarmId, {
        alarmDescription,
        metric,
        threshold,
        comparisonOperator,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    const functions = Object.entries(props.functions);
    this.alarms = [
      ...props.lanes.lanes.flatMap(({ definition: { name } }) => [
        above(
          `${name}DeadLetterAlarm`,
          `Messages in the dead-letter queue of lane ${name}`,
          props.lanes.metricDeadLetterMessages(name),
          0,
        ),
        above(
          `${name}OldestMessageAlarm`,
          `The oldest message of lane ${name} is older than the alarm age (messages held until due included)`,
          props.lanes.metricOldestMessageAge(name),
          props.oldestMessageAlarmAge.toSeconds(),
        ),
      ]),
      above(
        "ScheduleDeadLetterAlarm",
        "Run releases or expiries EventBridge Scheduler could not deliver",
        props.timers.metricDeadLetterMessages(),
        0,
      ),
      ...functions.map(([fnId, fn]) =>
        above(
          `${fnId}ErrorsAlarm`,
          `Errors of the job system's ${fnId} function`,
          fn.metricErrors({ period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM }),
          1,
          cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        ),
      ),
      ...functions
        .filter(([, fn]) => props.table.streamConsumers.includes(fn))
        .map(([fnId, fn]) =>
          above(
            `${fnId}IteratorAgeAlarm`,
            `The ${fnId} function lags the table stream by more than ${streamIteratorAgeAlarmAge.toHumanString()} (a record failing again and again holds its shard)`,
            fn.metric("IteratorAge", { period: Duration.minutes(1), statistic: cloudwatch.Stats.MAXIMUM }),
            streamIteratorAgeAlarmAge.toMilliseconds(),
          ),
        ),
    ];
  }
}
