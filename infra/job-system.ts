/**
 * The `JobSystem` construct: everything a job system needs in one AWS account, composed
 * of named parts, each in its own file:
 *
 * ```
 * JobSystem
 * ├── Resource   JobsTable        jobs-table.ts     the table (keys, KEYS_ONLY indexes, stream), its grants and stream consumers
 * ├── Lanes      JobLanes         lanes.ts          a high-throughput FIFO lane per band, each with a FIFO dead-letter queue
 * ├── Timers     JobTimers        timers.ts         the Scheduler group, the role its schedules assume, their dead-letter queue
 * ├── Realtime   RealtimeApi      realtime-api.ts   the WebSocket API, its stage and token secret (webSocket: true)
 * ├── <id>, <id>Role, <id>Logs    functions.ts      one function per row of function-specs.ts:
 * │                                                 Worker, Maintenance, WebSocket, StreamDispatch, Projections
 * └── Alarms     JobSystemAlarms  alarms.ts         dead letters, message age, errors, stream lag
 * ```
 *
 * Props and their defaults are in `job-system-props.ts`, the customer key's grants in
 * `encryption.ts`, the client grant in `parts.ts`. Dependencies point one way: this file
 * imports the parts; no part imports it.
 */

import { Duration } from "aws-cdk-lib";
import type * as apigwv2 from "aws-cdk-lib/aws-apigatewayv2";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import type * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import type * as iam from "aws-cdk-lib/aws-iam";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import type * as scheduler from "aws-cdk-lib/aws-scheduler";
import type * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import type * as sqs from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { ValidationError } from "../sdk/src/errors.js";
import type { QueueDefinition } from "../sdk/src/jobs/queue-definition.js";
import type { RateLimitDefinition } from "../sdk/src/jobs/rate-limit-definition.js";
import { JobSystemAlarms } from "./alarms.js";
import { jobSystemEnvironmentVariables } from "./environment.js";
import { functionSpecs } from "./function-specs.js";
import { createFunctions } from "./functions.js";
import { type JobSystemProps, resolveProps } from "./job-system-props.js";
import { JobsTable } from "./jobs-table.js";
import { type JobLane, JobLanes } from "./lanes.js";
import { grantClient, type JobSystemParts } from "./parts.js";
import { RealtimeApi } from "./realtime-api.js";
import { JobTimers } from "./timers.js";

export type { JobSystemProps } from "./job-system-props.js";

/**
 * A serverless job system: table, lanes, worker, maintenance and stream functions,
 * scheduler group, WebSocket API, alarms. Give other functions and containers access
 * with {@link grantClient} (or {@link grantWorker} for a container that runs jobs) and
 * {@link clientEnvironment}.
 *
 * @example
 * ```ts
 * const jobs = new JobSystem(this, "Jobs", { jobsEntry: "src/jobs.ts" });
 * const api = new NodejsFunction(this, "Api", { entry: "src/api.ts", environment: jobs.clientEnvironment });
 * jobs.grantClient(api);
 * // in src/api.ts: const { client } = connectFromEnvironment(); await client.trigger("Cleanup");
 * ```
 */
export class JobSystem extends Construct {
  /** The table of runs, events and job records. */
  readonly table: dynamodb.ITable;
  /** The lanes, highest band first. */
  readonly lanes: readonly JobLane[];
  /** The group the SDK creates one-time schedules in (run releases, expiries, long retries). */
  readonly scheduleGroup: scheduler.IScheduleGroup;
  /**
   * The role EventBridge Scheduler assumes for those schedules: it may send to the lanes
   * and the schedule dead-letter queue, and invoke the expiry target (the maintenance function).
   */
  readonly schedulerRole: iam.IRole;
  /** The worker function, consuming every lane (none with `lambdaWorker: false`). */
  readonly workerFunction: lambda.IFunction | undefined;
  /** The maintenance function, run every minute, one pass at a time. */
  readonly maintenanceFunction: lambda.IFunction;
  /**
   * Every function of the system, by construct id: `Worker`, `Maintenance`, `WebSocket`,
   * `StreamDispatch`, `Projections` (those the props enable).
   */
  readonly functions: Readonly<Record<string, lambda.IFunction>>;
  /**
   * The alarms: dead letters and oldest message age per lane, undelivered schedules,
   * errors per function, stream lag per stream consumer. They have no actions: add yours.
   */
  readonly alarms: readonly cloudwatch.IAlarm[];
  /**
   * The environment a client or container worker needs, variable name → value:
   * `fn.addEnvironment(...)` each, or pass it as a function's `environment`.
   */
  readonly clientEnvironment: Readonly<Record<string, string>>;
  /** Releases and expiries EventBridge Scheduler could not deliver after every retry (a standard queue). */
  readonly scheduleDeadLetterQueue: sqs.IQueue;
  /** The WebSocket API (none with `webSocket: false`). */
  readonly webSocketApi: apigwv2.IWebSocketApi | undefined;
  /** Its auto-deployed stage, `live`. */
  readonly webSocketStage: apigwv2.IWebSocketStage | undefined;
  /** The URL clients connect to: `wss://{api-id}.execute-api.{region}.amazonaws.com/live` (`JobClient`'s `webSocket.url`). */
  readonly webSocketUrl: string | undefined;
  /** The stage's management endpoint, `https://…/live`, that the functions post frames to. */
  readonly webSocketCallbackUrl: string | undefined;
  /** The secret whose string is the token `$connect` accepts (`JobClient`'s `webSocket.token`). Read it with {@link grantWebSocketToken}. */
  readonly webSocketTokenSecret: secretsmanager.ISecret | undefined;

  /** The queues of the app given as `app` (their priority and limits), `default` included; none without it. */
  readonly queues: readonly QueueDefinition[];
  /** The rate limits of the app given as `app`; none without it. */
  readonly rateLimits: readonly RateLimitDefinition[];

  readonly #parts: JobSystemParts;

  constructor(scope: Construct, id: string, props: JobSystemProps) {
    super(scope, id);
    const resolved = resolveProps(this, props);
    const { encryptionKey, removalPolicy } = resolved;
    this.queues = resolved.queues;
    this.rateLimits = resolved.rateLimits;

    // The primary part, so its id is `Resource` (CDK convention).
    const table = new JobsTable(this, "Resource", {
      removalPolicy,
      pointInTimeRecovery: resolved.pointInTimeRecovery,
      encryptionKey,
    });
    const lanes = new JobLanes(this, "Lanes", {
      definitions: resolved.lanes,
      workerTimeout: resolved.workerTimeout,
      removalPolicy,
      encryptionKey,
    });
    const timers = new JobTimers(this, "Timers", { lanes, removalPolicy, encryptionKey });
    const realtime = resolved.webSocket
      ? new RealtimeApi(this, "Realtime", {
          table,
          removalPolicy,
          tokenSecret: resolved.webSocketTokenSecret,
          encryptionKey,
        })
      : undefined;
    this.#parts = { table, lanes, timers, realtime, encryptionKey };

    this.table = table.table;
    this.lanes = lanes.lanes;
    this.scheduleGroup = timers.scheduleGroup;
    this.schedulerRole = timers.role;
    this.scheduleDeadLetterQueue = timers.deadLetterQueue;
    this.webSocketApi = realtime?.api;
    this.webSocketStage = realtime?.stage;
    this.webSocketUrl = realtime?.stage.url;
    this.webSocketCallbackUrl = realtime?.stage.callbackUrl;
    this.webSocketTokenSecret = realtime?.tokenSecret;

    const v = jobSystemEnvironmentVariables;
    const environment = {
      [v.tableName]: table.table.tableName,
      [v.laneUrls]: lanes.queueUrlsJson,
      ...timers.environment,
    };
    const { functions, expiryTarget } = createFunctions(
      functionSpecs,
      { scope: this, parts: this.#parts, props: resolved },
      environment,
    );
    this.functions = functions;
    this.clientEnvironment = expiryTarget
      ? { ...environment, [v.schedulerExpiryTargetArn]: expiryTarget.functionArn }
      : environment;
    this.workerFunction = functions.Worker;
    const maintenance = functions.Maintenance;
    if (!maintenance) throw new ValidationError(`${this.node.path} functions`, 'no function "Maintenance"');
    this.maintenanceFunction = maintenance;

    this.alarms = new JobSystemAlarms(this, "Alarms", {
      lanes,
      timers,
      table,
      functions,
      oldestMessageAlarmAge: resolved.oldestMessageAlarmAge,
    }).alarms;
  }

  /**
   * Lets `grantee` use the SDK client: trigger, run, observe and cancel runs. Grants
   * item reads and writes on the table and its indexes (no table administration),
   * `sqs:SendMessage` on the lanes, creating and deleting schedules in the schedule
   * group, and passing the scheduler role (to EventBridge Scheduler only).
   *
   * @example
   * ```ts
   * jobs.grantClient(apiFunction);
   * ```
   */
  grantClient(grantee: iam.IGrantable): iam.Grant {
    return grantClient(this.#parts, grantee);
  }

  /**
   * Lets `grantee` read the WebSocket token (`secretsmanager:GetSecretValue` on its
   * secret), for a function or container that observes runs over the WebSocket API.
   *
   * @example
   * ```ts
   * jobs.grantWebSocketToken(apiFunction);
   * // in the function: GetSecretValue({ SecretId: <jobs.webSocketTokenSecret.secretArn> }) → webSocket.token
   * ```
   */
  grantWebSocketToken(grantee: iam.IGrantable): iam.Grant {
    if (!this.#parts.realtime) {
      throw new ValidationError(
        `${this.node.path} grantWebSocketToken`,
        "there is no WebSocket API (webSocket is false)",
      );
    }
    return this.#parts.realtime.grantReadToken(grantee);
  }

  /**
   * Lets `grantee` run jobs as a long-lived worker (`PollingWorker` in a container):
   * everything {@link grantClient} gives, plus receiving, deleting and re-hiding lane messages.
   *
   * @example
   * ```ts
   * jobs.grantWorker(fargateTaskDefinition.taskRole);
   * ```
   */
  grantWorker(grantee: iam.IGrantable): iam.Grant {
    return this.grantClient(grantee).combine(this.#parts.lanes.grantConsumeMessages(grantee));
  }

  /**
   * Messages waiting in a lane's dead-letter queue (maximum over 1 minute by default).
   *
   * @example
   * ```ts
   * jobs.metricDeadLetterMessages("high").createAlarm(this, "HighDlq", { threshold: 0, evaluationPeriods: 1 });
   * ```
   */
  metricDeadLetterMessages(laneName: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.#parts.lanes.metricDeadLetterMessages(laneName, props);
  }

  /**
   * Age of a lane's oldest message, in seconds (maximum over 5 minutes by default).
   * Includes messages held until their run is due (up to 12 hours).
   *
   * @example
   * ```ts
   * dashboard.addWidgets(new GraphWidget({ left: [jobs.metricOldestMessageAge("normal")] }));
   * ```
   */
  metricOldestMessageAge(laneName: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.#parts.lanes.metricOldestMessageAge(laneName, props);
  }

  /**
   * Messages a lane holds that are ready to be received (a backlog when it stays high).
   *
   * @example
   * ```ts
   * jobs.metricVisibleMessages("low").createAlarm(this, "LowBacklog", { threshold: 1000, evaluationPeriods: 3 });
   * ```
   */
  metricVisibleMessages(laneName: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.#parts.lanes.metricVisibleMessages(laneName, props);
  }

  /**
   * Errors of the worker function (sum over 5 minutes by default). A failing run is not
   * a function error: it is recorded on the run and retried by its policy.
   *
   * @example
   * ```ts
   * jobs.metricWorkerErrors().createAlarm(this, "WorkerErrors", { threshold: 5, evaluationPeriods: 1 });
   * ```
   */
  metricWorkerErrors(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    if (!this.workerFunction) {
      throw new ValidationError(
        `${this.node.path} metricWorkerErrors`,
        "there is no worker function (lambdaWorker is false)",
      );
    }
    return this.workerFunction.metricErrors({
      period: Duration.minutes(5),
      statistic: cloudwatch.Stats.SUM,
      ...props,
    });
  }
}
