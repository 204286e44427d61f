/**
 * The props of `JobSystem`, and the one place their defaults are applied and checked
 * ({@link resolveProps}). Every part of the construct reads the resolved props.
 */
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { Duration, RemovalPolicy, Token } from "aws-cdk-lib";
import type * as kms from "aws-cdk-lib/aws-kms";
import * as logs from "aws-cdk-lib/aws-logs";
import type * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import type { Construct } from "constructs";
import { ValidationError } from "../sdk/src/errors.js";
import type { JobApp } from "../sdk/src/jobs/job-app.js";
import type { QueueDefinition } from "../sdk/src/jobs/queue-definition.js";
import type { RateLimitDefinition } from "../sdk/src/jobs/rate-limit-definition.js";
import { defaultLanes, type LaneDefinition } from "../sdk/src/queue/lane-definitions.js";

/** Properties of a `JobSystem`. */
export interface JobSystemProps {
  /**
   * Path to the module that registers the jobs: it must export `app`, a `JobApp`
   * (`export const app = new JobApp()`). Relative paths resolve from the working directory.
   */
  readonly jobsEntry: string;

  /**
   * Run jobs on Lambda: a worker function consuming every lane. Turn it off to run every
   * job in long-lived workers instead (`PollingWorker` in containers, given
   * `JobSystem.grantWorker` and `JobSystem.clientEnvironment`), for jobs
   * longer than Lambda's 15 minutes. The worker props below then have no effect.
   *
   * @default true
   */
  readonly lambdaWorker?: boolean;

  /**
   * Memory of the worker function, in MiB (128 to 10,240). CPU is allotted in proportion.
   *
   * @default 1024
   */
  readonly workerMemorySize?: number;

  /**
   * Timeout of the worker function: the longest a job can run on Lambda (at most 15
   * minutes, Lambda's ceiling; run longer jobs in a container worker). Each lane's
   * visibility timeout is this plus 60 seconds: the in-flight message is the run's lease,
   * so the run of an invocation that crashed is recovered once its message reappears.
   *
   * @default Duration.minutes(5)
   */
  readonly workerTimeout?: Duration;

  /**
   * Most concurrent worker invocations per lane (2 to 1,000; the event source mapping's
   * maximum concurrency). With the three default lanes the worker can reach three times this.
   *
   * @default 10
   */
  readonly workerMaxConcurrency?: number;

  /**
   * How long finished runs are kept. Passed to the functions as `JOBS_RETENTION_SECONDS`
   * for the retention purge, which stamps finished items with the table's TTL attribute
   * (`expiresAt`) so DynamoDB deletes them at no write cost. The SDK does not purge yet:
   * until it does, finished runs are kept.
   *
   * @default Duration.days(30)
   */
  readonly retention?: Duration;

  /**
   * What happens to the table, the lanes, the schedule group and the log groups when
   * they leave the stack (or the stack is deleted).
   *
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;

  /**
   * Continuous backups of the table (restore to any second of the last 35 days).
   *
   * @default true
   */
  readonly pointInTimeRecovery?: boolean;

  /**
   * A customer managed KMS key to encrypt the table and the lanes with.
   *
   * @default - the table uses the AWS managed key (`aws/dynamodb`); the lanes use SQS managed encryption (SSE-SQS)
   */
  readonly encryptionKey?: kms.IKey;

  /**
   * Age of a lane's oldest message at which its alarm fires. A run due within 15 minutes
   * is sent at once and its message held until the run is due; a run due later is
   * released by a one-time schedule a minute ahead. So on a healthy lane no message is
   * much older than 16 minutes; an older one means a backlog or a stuck worker.
   *
   * @default Duration.minutes(30)
   */
  readonly oldestMessageAlarmAge?: Duration;

  /**
   * How long the functions' logs are kept.
   *
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * Live observation: an API Gateway WebSocket API clients subscribe to runs' events
   * through (`new JobClient({ …, webSocket: { url, token } })`); the stream dispatch
   * function then also pushes each new event to the subscribed connections. Turn it off
   * and clients observe runs by polling the table.
   *
   * @default true
   */
  readonly webSocket?: boolean;

  /**
   * The secret whose string is the token the WebSocket API's `$connect` accepts
   * (`Authorization: Bearer`), and the key subscription tokens are signed with
   * (`createSubscriptionToken`). Its value is read by the WebSocket function
   * at run time, never written into the template or the function's configuration.
   *
   * @default - a generated secret (48 letters and digits)
   */
  readonly webSocketTokenSecret?: secretsmanager.ISecret;
  /**
   * The `JobApp` that `jobsEntry` exports, when the CDK app can import it: its
   * definitions are checked at synth (a queue or rate limit a job names but nobody
   * defined fails `cdk synth` with `ValidationError`, naming the job) and carried by the
   * construct (`JobSystem.queues`, `JobSystem.rateLimits`).
   *
   * @default - none: definitions are checked when the functions start
   */
  readonly app?: JobApp;
}

/** Props with every default applied (in one place: {@link resolveProps}). */
export interface ResolvedProps {
  readonly jobsEntry: string;
  readonly lambdaWorker: boolean;
  readonly lanes: readonly LaneDefinition[];
  readonly workerMemorySize: number;
  readonly workerTimeout: Duration;
  readonly workerMaxConcurrency: number;
  readonly retention: Duration;
  readonly removalPolicy: RemovalPolicy;
  readonly pointInTimeRecovery: boolean;
  readonly encryptionKey: kms.IKey | undefined;
  readonly oldestMessageAlarmAge: Duration;
  readonly logRetention: logs.RetentionDays;
  readonly webSocket: boolean;
  readonly webSocketTokenSecret: secretsmanager.ISecret | undefined;
  readonly queues: readonly QueueDefinition[];
  readonly rateLimits: readonly RateLimitDefinition[];
}

/** Lane names become part of queue names: SQS allows letters, digits, `-` and `_`. */
const laneNamePattern = /^[A-Za-z0-9_-]{1,20}$/;

/**
 * Applies the defaults and validates (skipping values that are tokens until deploy time).
 * Errors name the construct path and the prop.
 */
export function resolveProps(scope: Construct, props: JobSystemProps): ResolvedProps {
  const path = scope.node.path;
  const jobsEntry = resolve(props.jobsEntry);
  if (!existsSync(jobsEntry)) {
    throw new ValidationError(
      `${path} jobsEntry`,
      `no file at ${jobsEntry} (it must export \`app\`, a JobApp)`,
    );
  }

  const workerTimeout = props.workerTimeout ?? Duration.minutes(5);
  // Lane visibility timeouts are computed from the worker timeout, so it cannot be a token.
  if (workerTimeout.isUnresolved()) {
    throw new ValidationError(
      `${path} workerTimeout`,
      "must be a concrete duration: the lanes' visibility is derived from it",
    );
  }
  const timeoutMillis = workerTimeout.toMilliseconds();
  if (timeoutMillis < 1000 || timeoutMillis > 15 * 60_000 || timeoutMillis % 1000 !== 0) {
    throw new ValidationError(
      `${path} workerTimeout`,
      `must be whole seconds from 1 second to 15 minutes (Lambda's limit), got ${workerTimeout.toHumanString()}`,
    );
  }

  const workerMemorySize = props.workerMemorySize ?? 1024;
  checkInteger(path, "workerMemorySize", workerMemorySize, 128, 10_240);
  const workerMaxConcurrency = props.workerMaxConcurrency ?? 10;
  checkInteger(path, "workerMaxConcurrency", workerMaxConcurrency, 2, 1000);

  const retention = props.retention ?? Duration.days(30);
  if (!retention.isUnresolved() && retention.toSeconds() < 1) {
    throw new ValidationError(
      `${path} retention`,
      `must be at least 1 second, got ${retention.toHumanString()}`,
    );
  }

  const lanes = defaultLanes;
  for (const lane of lanes) {
    if (!laneNamePattern.test(lane.name)) {
      throw new ValidationError(`${path} lanes`, `"${lane.name}" must be 1-20 letters, digits, "-" or "_"`);
    }
  }

  return {
    jobsEntry,
    lambdaWorker: props.lambdaWorker ?? true,
    lanes,
    workerMemorySize,
    workerTimeout,
    workerMaxConcurrency,
    retention,
    removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    pointInTimeRecovery: props.pointInTimeRecovery ?? true,
    encryptionKey: props.encryptionKey,
    oldestMessageAlarmAge: props.oldestMessageAlarmAge ?? Duration.minutes(30),
    logRetention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
    webSocket: props.webSocket ?? true,
    webSocketTokenSecret: props.webSocketTokenSecret,
    ...definitionsOf(props.app),
  };
}

function checkInteger(path: string, name: string, value: number, min: number, max: number): void {
  if (Token.isUnresolved(value)) return;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ValidationError(`${path} ${name}`, `must be an integer from ${min} to ${max}, got ${value}`);
  }
}

/** The app's queue and rate-limit definitions, checked (`JobApp.validate`). */
function definitionsOf(app: JobApp | undefined): Pick<ResolvedProps, "queues" | "rateLimits"> {
  if (!app) return { queues: [], rateLimits: [] };
  app.validate();
  return { queues: app.queues(), rateLimits: app.rateLimits() };
}
