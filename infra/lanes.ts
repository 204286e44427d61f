/**
 * The lanes: one SQS FIFO queue per priority band (`sdk/src/queue/lane-definitions.ts`),
 * each with its own FIFO dead-letter queue, their grants and their metrics.
 */
import { Duration, Names, type RemovalPolicy, Stack } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as kms from "aws-cdk-lib/aws-kms";
import * as sqs from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { ValidationError } from "../sdk/src/errors.js";
import {
  deadLetterQueueName,
  type LaneDefinition,
  laneQueueAttributes,
  laneQueueName,
  laneMaxReceiveCount as sharedLaneMaxReceiveCount,
} from "../sdk/src/queue/lane-definitions.js";
import { queueEncryption } from "./encryption.js";

/** One lane as deployed: its band, its queue and its dead-letter queue. */
export interface JobLane {
  readonly definition: LaneDefinition;
  readonly queue: sqs.IQueue;
  readonly deadLetterQueue: sqs.IQueue;
}

/**
 * Receives before a lane message moves to its dead-letter queue: 1,000, the SQS maximum
 * (`sdk/src/queue/lane-definitions.ts`, shared with the local stack). Every hold of a
 * message counts as a receive: a run waiting for `notBefore` (held in steps of at most
 * 12 hours, the SQS visibility limit; with the Scheduler timer, at most about 16
 * minutes, since runs due later are released by a schedule), the returned message of a
 * running attempt (its lease, extended while the run executes), a limit deferral, a
 * transient failure or a throttled delivery. Even a message held in 12-hour steps for
 * the whole 14 days it can stay in a lane is received under 30 times, so a healthy
 * message never reaches the dead-letter queue: one that does is one nothing could
 * process, which the dead-letter alarm reports. Its run is not lost: the maintenance
 * function drains the dead-letter queues (failing a poison run, recovering a run whose
 * lease message it was).
 */
export const laneMaxReceiveCount: number = sharedLaneMaxReceiveCount;

/**
 * What a lane's visibility timeout adds to the worker's timeout. The in-flight message
 * is the run's lease on Lambda: while the invocation that received it lives, the message
 * stays hidden; once the invocation can no longer be running (its timeout has passed),
 * the message reappears and the next delivery recovers the run. The minute covers the
 * time between receive and invoke, so a live invocation never sees its message
 * delivered again (and Lambda refuses an SQS event source whose queue's visibility is
 * shorter than the function's timeout). AWS's general advice for SQS event sources, six times the timeout,
 * would delay every crash recovery by that much; the price of the shorter hold is that
 * a batch Lambda could not invoke (throttled) reappears and is received again sooner,
 * which costs receives (see `laneMaxReceiveCount`), not runs: the conditional claim
 * drops any duplicate.
 */
export const laneVisibilityMargin = Duration.seconds(60);

/** A lane's visibility timeout for a worker timeout: `workerTimeout` + {@link laneVisibilityMargin}. */
export function laneVisibilityTimeout(workerTimeout: Duration): Duration {
  return Duration.seconds(workerTimeout.toSeconds() + laneVisibilityMargin.toSeconds());
}

/** Properties of {@link JobLanes}. */
export interface JobLanesProps {
  /** The bands, highest first. */
  readonly definitions: readonly LaneDefinition[];
  /** The worker function's timeout, from which the visibility timeout is derived (a concrete duration). */
  readonly workerTimeout: Duration;
  /** What happens to the queues when they leave the stack. */
  readonly removalPolicy: RemovalPolicy;
  /**
   * A customer managed key to encrypt every queue with.
   *
   * @default - SQS managed encryption (SSE-SQS)
   */
  readonly encryptionKey?: kms.IKey;
}

/**
 * The lanes. Queue names follow the local stack's `<prefix><lane>.fifo`
 * (`laneQueueName`), with a prefix unique to this construct in its stack, cut to fit
 * SQS's 80 characters. Every lane is a high-throughput FIFO queue (deduplication and
 * throughput per message group: every wake-up is its own group), so a lane is not held
 * to the 300 transactions per second of a plain FIFO queue.
 *
 * @example
 * ```ts
 * const lanes = new JobLanes(this, "Lanes", { definitions: defaultLanes, workerTimeout: Duration.minutes(5), removalPolicy: RemovalPolicy.RETAIN });
 * lanes.grantSendMessages(fn);
 * ```
 */
export class JobLanes extends Construct {
  /** The lanes, highest band first. */
  readonly lanes: readonly JobLane[];

  constructor(scope: Construct, id: string, props: JobLanesProps) {
    super(scope, id);
    const longest = Math.max(...props.definitions.map((lane) => lane.name.length));
    const prefix = `${Names.uniqueResourceName(this, {
      maxLength: 80 - ".fifo".length - "-dlq".length - "-".length - longest,
      separator: "-",
      allowedSpecialCharacters: "-_",
    })}-`;
    const encryption = queueEncryption(props.encryptionKey);
    const retentionPeriod = Duration.seconds(Number(laneQueueAttributes.MessageRetentionPeriod));
    this.lanes = props.definitions.map((definition) => {
      const deadLetterQueue = new sqs.Queue(this, `${definition.name}DeadLetterQueue`, {
        queueName: deadLetterQueueName(prefix, definition),
        fifo: true,
        retentionPeriod,
        removalPolicy: props.removalPolicy,
        ...encryption,
      });
      const queue = new sqs.Queue(this, `${definition.name}Lane`, {
        queueName: laneQueueName(prefix, definition),
        fifo: true,
        // Off, as in laneQueueAttributes: every message carries its own deduplication id.
        contentBasedDeduplication: false,
        // High-throughput FIFO, as in laneQueueAttributes: deduplication and the
        // throughput quota per message group (every wake-up is its own group).
        deduplicationScope: sqs.DeduplicationScope.MESSAGE_GROUP,
        fifoThroughputLimit: sqs.FifoThroughputLimit.PER_MESSAGE_GROUP_ID,
        visibilityTimeout: laneVisibilityTimeout(props.workerTimeout),
        retentionPeriod,
        deadLetterQueue: { queue: deadLetterQueue, maxReceiveCount: laneMaxReceiveCount },
        removalPolicy: props.removalPolicy,
        ...encryption,
      });
      return { definition, queue, deadLetterQueue };
    });
  }

  /** The lane named `name`; throws a `ValidationError` listing the lanes when there is none. */
  lane(name: string): JobLane {
    const lane = this.lanes.find((l) => l.definition.name === name);
    if (!lane) {
      const known = this.lanes.map((l) => l.definition.name).join(", ");
      throw new ValidationError(`${this.node.path} lane`, `"${name}" is not a lane (lanes: ${known})`);
    }
    return lane;
  }

  /** JSON, lane name → queue URL (`JOBS_LANE_URLS`). */
  get queueUrlsJson(): string {
    return this.#urlsJson((lane) => lane.queue);
  }

  /** JSON, lane name → dead-letter queue URL (`JOBS_LANE_DLQ_URLS`). */
  get deadLetterQueueUrlsJson(): string {
    return this.#urlsJson((lane) => lane.deadLetterQueue);
  }

  /**
   * `sqs:SendMessage` on the lanes (`Queue.grantSendMessages` would add `GetQueueUrl`
   * and `GetQueueAttributes`, and `kms:ReEncrypt*`, `kms:GenerateDataKey*` with a key).
   * No key grant: callers add that once per grantee.
   */
  grantSendMessages(grantee: iam.IGrantable): iam.Grant {
    return this.#grant(grantee, ["sqs:SendMessage"], (lane) => lane.queue);
  }

  /** What a process that polls the lanes itself needs: receive, delete and re-hide messages. */
  grantConsumeMessages(grantee: iam.IGrantable): iam.Grant {
    return this.#grant(
      grantee,
      ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility"],
      (lane) => lane.queue,
    );
  }

  /** Receiving and deleting the dead letters of every lane (the maintenance function sends them back). */
  grantConsumeDeadLetters(grantee: iam.IGrantable): iam.Grant {
    return this.#grant(grantee, ["sqs:ReceiveMessage", "sqs:DeleteMessage"], (lane) => lane.deadLetterQueue);
  }

  /** Messages waiting in a lane's dead-letter queue (maximum over 1 minute by default). */
  metricDeadLetterMessages(laneName: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.lane(laneName).deadLetterQueue.metricApproximateNumberOfMessagesVisible({
      period: Duration.minutes(1),
      statistic: cloudwatch.Stats.MAXIMUM,
      ...props,
    });
  }

  /** Age of a lane's oldest message, in seconds (maximum over 5 minutes by default). */
  metricOldestMessageAge(laneName: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.lane(laneName).queue.metricApproximateAgeOfOldestMessage({
      period: Duration.minutes(5),
      statistic: cloudwatch.Stats.MAXIMUM,
      ...props,
    });
  }

  /** Messages a lane holds that are ready to be received (maximum over 1 minute by default). */
  metricVisibleMessages(laneName: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.lane(laneName).queue.metricApproximateNumberOfMessagesVisible({
      period: Duration.minutes(1),
      statistic: cloudwatch.Stats.MAXIMUM,
      ...props,
    });
  }

  #grant(grantee: iam.IGrantable, actions: string[], queueOf: (lane: JobLane) => sqs.IQueue): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions,
      resourceArns: this.lanes.map((lane) => queueOf(lane).queueArn),
    });
  }

  #urlsJson(queueOf: (lane: JobLane) => sqs.IQueue): string {
    return Stack.of(this).toJsonString(
      Object.fromEntries(this.lanes.map((lane) => [lane.definition.name, queueOf(lane).queueUrl])),
    );
  }
}
