/**
 * The `JobSystem` construct: everything a job system needs in one AWS account.
 *
 * - one DynamoDB table (keys and indexes from `sdk/src/store/table-definition.ts`),
 *   with a stream, TTL, point-in-time recovery and encryption;
 * - one SQS FIFO lane per priority band (`sdk/src/queue/lane-definitions.ts`), each
 *   with a FIFO dead-letter queue;
 * - the worker function, fed by every lane through an event source mapping with
 *   partial batch responses and a maximum concurrency;
 * - the maintenance function, run every minute by an EventBridge Scheduler schedule;
 * - the WebSocket API (API Gateway) clients observe runs through, its function, the
 *   token it accepts (a generated Secrets Manager secret), and the fanout function on
 *   the table's stream that pushes new run events to subscribed connections;
 * - an EventBridge Scheduler group, the role its one-time schedules assume and a
 *   dead-letter queue for the schedules it could not deliver;
 * - alarms on dead letters, function errors and the age of the oldest lane message.
 *
 * Functions are registered in one table, {@link functionSpecs}: adding the next one
 * is one more row. Each row names a handler
 * factory of `sdk/src/lambda/`; at synth time the construct writes a small entry that
 * calls it (with the user's `app` when it takes one) and bundles it with esbuild
 * (locally, never in Docker).
 */
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { Arn, Duration, Names, RemovalPolicy, Stack, Token } from "aws-cdk-lib";
import * as apigwv2 from "aws-cdk-lib/aws-apigatewayv2";
import { WebSocketLambdaIntegration } from "aws-cdk-lib/aws-apigatewayv2-integrations";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as kms from "aws-cdk-lib/aws-kms";
import * as lambda from "aws-cdk-lib/aws-lambda";
import { DynamoEventSource, SqsEventSource } from "aws-cdk-lib/aws-lambda-event-sources";
import * as nodejs from "aws-cdk-lib/aws-lambda-nodejs";
import * as logs from "aws-cdk-lib/aws-logs";
import * as scheduler from "aws-cdk-lib/aws-scheduler";
import * as schedulerTargets from "aws-cdk-lib/aws-scheduler-targets";
import * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import * as sqs from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { environmentVariables } from "../sdk/src/config/environment.js";
import { ValidationError } from "../sdk/src/errors.js";
import {
  defaultLanes,
  type LaneDefinition,
  laneQueueAttributes,
  laneQueueName,
} from "../sdk/src/queue/lane-definitions.js";
import { connectionSubscriptionKey, subscriptionKey } from "../sdk/src/store/keys.js";
import { tableDefinition } from "../sdk/src/store/table-definition.js";
import { entrySource, type HandlerFactory, writeEntry } from "./handler-entries.js";

/**
 * Environment variables the construct sets on its functions and lists in
 * {@link JobSystem.clientEnvironment}; `connectFromEnvironment()` reads them
 * (`sdk/src/config/environment.ts`).
 */
export const jobSystemEnvironmentVariables = {
  tableName: environmentVariables.tableName,
  laneUrls: environmentVariables.laneUrls,
  scheduleGroupName: environmentVariables.scheduleGroupName,
  schedulerRoleArn: environmentVariables.schedulerRoleArn,
  schedulerExpiryTargetArn: environmentVariables.schedulerExpiryTargetArn,
  schedulerDeadLetterQueueArn: environmentVariables.schedulerDeadLetterQueueArn,
  /** Set on the construct's functions only: how long finished runs are kept, in seconds. */
  retentionSeconds: "JOBS_RETENTION_SECONDS",
  /** Set on the WebSocket and fanout functions: the stage's management endpoint. */
  webSocketCallbackUrl: environmentVariables.webSocketCallbackUrl,
  /** Set on the WebSocket function: the secret holding the token `$connect` accepts. */
  webSocketTokenSecretArn: environmentVariables.webSocketTokenSecretArn,
} as const;

/** Properties of a {@link JobSystem}. */
export interface JobSystemProps {
  /**
   * Path to the module that registers the jobs: it must export `app`, a `JobApp`
   * (`export const app = new JobApp()`). Relative paths resolve from the working directory.
   */
  readonly jobsEntry: string;

  /**
   * Run jobs on Lambda: a worker function consuming every lane. Turn it off to run every
   * job in long-lived workers instead (`PollingWorker` in containers, given
   * {@link JobSystem.grantWorker} and {@link JobSystem.clientEnvironment}), for jobs
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
   * visibility timeout is set to six times this, as AWS advises for SQS event sources.
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
   * through (`new JobClient({ …, webSocket: { url, token } })`), and the fanout function
   * on the table's stream that pushes each new event to the subscribed connections.
   * Turn it off and clients observe runs by polling the table.
   *
   * @default true
   */
  readonly webSocket?: boolean;

  /**
   * The secret whose string is the token the WebSocket API's `$connect` accepts
   * (`?token=` or `Authorization: Bearer`). Its value is read by the WebSocket function
   * at run time, never written into the template or the function's configuration.
   *
   * @default - a generated secret (48 letters and digits)
   */
  readonly webSocketTokenSecret?: secretsmanager.ISecret;
}

/** One lane as deployed: its band, its queue and its dead-letter queue. */
export interface JobLane {
  readonly definition: LaneDefinition;
  readonly queue: sqs.IQueue;
  readonly deadLetterQueue: sqs.IQueue;
}

/**
 * DynamoDB actions on items that the SDK uses: reads (`GetItem`, `Query`) and the
 * writes inside `TransactWriteItems` (which IAM checks per item as `PutItem`,
 * `UpdateItem`, `DeleteItem`, `ConditionCheckItem`). No table administration, no `Scan`.
 */
const tableItemActions = [
  "dynamodb:GetItem",
  "dynamodb:Query",
  "dynamodb:PutItem",
  "dynamodb:UpdateItem",
  "dynamodb:DeleteItem",
  "dynamodb:ConditionCheckItem",
];

/** KMS actions to read and write data encrypted with a customer key (table items, lane messages). */
const keyActions = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"];

/** KMS actions a producer needs to send to a queue encrypted with a customer key (SQS developer guide, "Key management"). */
const laneSenderKeyActions = ["kms:GenerateDataKey", "kms:Decrypt"];

/** SQS actions of a process that polls the lanes itself (the Lambda worker's event source mapping has its own). */
const laneConsumerActions = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility"];

/**
 * Receives before a lane message moves to its dead-letter queue (1,000 is the SQS
 * maximum). The worker holds a message that is not due yet by changing its visibility
 * and reporting it as a batch item failure, and every hold counts as a receive. A hold
 * waits out the whole remaining time at once (at most 12 hours, the SQS visibility
 * limit; with the Scheduler timer the construct configures, at most about 16 minutes,
 * since runs due later are released by a schedule), so a `notBefore` or a retry backoff
 * costs one or two receives. Even a message held in 12-hour steps for the whole 14 days
 * it can stay in a lane is received under 30 times. The rest of the 1,000 is for short
 * holds (limit deferrals) and transient failures, each of which waits a visibility
 * timeout, so a healthy message never reaches the dead-letter queue: one that does is
 * one nothing can process, which the dead-letter alarm reports. Its run is not lost:
 * the maintenance sweep finds a Pending run without a message and sends it again.
 */
export const laneMaxReceiveCount = 1000;

/** Records per worker invocation: the most an SQS FIFO event source allows. */
const workerBatchSize = 10;

/** The one-minute maintenance sweep must finish before the next one starts. */
const maintenanceTimeout = Duration.seconds(60);

/** Lane names become part of queue names: SQS allows letters, digits, `-` and `_`. */
const laneNamePattern = /^[A-Za-z0-9_-]{1,20}$/;

/** The WebSocket API's stage: `wss://{api-id}.execute-api.{region}.amazonaws.com/live`. */
export const webSocketStageName = "live";

/**
 * The WebSocket API's routes, all to the WebSocket function, which dispatches on the
 * route key (`createWebSocketLambdaHandler`). Routes are chosen by the message's
 * `action` (`sdk/src/realtime/protocol.ts`); `$default` answers anything else with an error frame.
 */
export const webSocketRouteKeys = [
  "$connect",
  "$disconnect",
  "$default",
  "subscribe",
  "unsubscribe",
] as const;

/**
 * Stream records per fanout invocation. Each record is one new event; the fanout looks
 * up each run's subscribers once per batch, so bigger batches mean fewer queries.
 */
const fanoutBatchSize = 100;

/**
 * Retries of a failing fanout batch (halved on each error, `bisectBatchOnError`) before
 * it is skipped. A skipped push is not lost to a client: the SDK fills gaps in event ids
 * from the table. Bounded, because a stream shard waits while its batch is retried.
 */
const fanoutRetryAttempts = 3;

/** What a row of {@link functionSpecs} wires its function with. */
interface FunctionWiring {
  readonly system: JobSystem;
  readonly workerMaxConcurrency: number;
  /** The WebSocket API (none with `webSocket: false`, when its rows are disabled). */
  readonly realtime: RealtimeWiring | undefined;
}

/** The WebSocket API, as the realtime rows wire their functions to it. */
interface RealtimeWiring {
  readonly api: apigwv2.WebSocketApi;
  readonly stage: apigwv2.WebSocketStage;
  readonly tokenSecret: secretsmanager.ISecret;
  /**
   * Gives a realtime function the callback URL, the table access of subscriptions
   * (see {@link JobSystem}'s `#grantRealtime`) and `ManageConnections` (POST) on the stage.
   */
  readonly connect: (fn: lambda.Function) => void;
}

function realtimeOf(wiring: FunctionWiring, id: string): RealtimeWiring {
  if (!wiring.realtime) {
    throw new ValidationError(
      `${wiring.system.node.path} ${id}`,
      "needs the WebSocket API (webSocket is false)",
    );
  }
  return wiring.realtime;
}

/** One Lambda function of the system. */
interface FunctionSpec {
  /** Construct id: it names the function's resources, so never change it after release. */
  readonly id: string;
  /** The `sdk/src/lambda/` export that builds the handler (from `app`, for `handlers`). */
  readonly factory: HandlerFactory;
  readonly description: string;
  readonly memorySize: (props: ResolvedProps) => number;
  readonly timeout: (props: ResolvedProps) => Duration;
  /** Lets a Lambda → SQS → same Lambda chain run on (see the worker row). */
  readonly allowRecursiveLoop?: boolean;
  /**
   * The function runs' expiry schedules invoke (with `{ "expireRunId": … }`). Every
   * other function, and clients, get its ARN; it finds its own in the invocation context.
   */
  readonly expiryTarget?: boolean;
  /** Whether the props call for this function. @default always */
  readonly enabled?: (props: ResolvedProps) => boolean;
  /** Event sources, schedules and grants. */
  readonly wire: (fn: lambda.Function, wiring: FunctionWiring) => void;
}

/**
 * Every function of the system. To add one, add a row: its handler factory, its size
 * and what triggers it (see the Fanout row: a stream event source and two grants).
 */
const functionSpecs: readonly FunctionSpec[] = [
  {
    id: "Worker",
    factory: { module: "handlers", name: "createWorkerLambdaHandler" },
    enabled: (props) => props.lambdaWorker,
    description: "Job system worker: claims and executes runs from the SQS lanes",
    memorySize: (props) => props.workerMemorySize,
    timeout: (props) => props.workerTimeout,
    // The worker sends to the lanes that invoke it (child runs, retries, re-enqueues):
    // Lambda's recursive loop detection would otherwise stop such a chain after 16 hops.
    allowRecursiveLoop: true,
    wire: (fn, { system, workerMaxConcurrency }) => {
      system.grantClient(fn);
      for (const lane of system.lanes) {
        fn.addEventSource(
          new SqsEventSource(lane.queue, {
            batchSize: workerBatchSize,
            reportBatchItemFailures: true,
            maxConcurrency: workerMaxConcurrency,
          }),
        );
      }
    },
  },
  {
    id: "Maintenance",
    factory: { module: "handlers", name: "createMaintenanceLambdaHandler" },
    description: "Job system maintenance: expiries, lost messages, expired leases (every minute)",
    memorySize: () => 256,
    timeout: () => maintenanceTimeout,
    expiryTarget: true,
    wire: (fn, { system }) => {
      system.grantClient(fn);
      // Scheduler's one-minute rate, not an EventBridge rule: the same service as the
      // runs' one-time schedules, with retries and event age set on the target. It stays
      // in the default group, outside the group clients may create and delete in.
      new scheduler.Schedule(system, "MaintenanceSchedule", {
        schedule: scheduler.ScheduleExpression.rate(Duration.minutes(1)),
        description: "Runs the job system's maintenance sweep every minute",
        // A missed minute is made up by the next: no retries, no stale events.
        target: new schedulerTargets.LambdaInvoke(fn, { retryAttempts: 0, maxEventAge: Duration.minutes(1) }),
      });
    },
  },
  {
    id: "WebSocket",
    factory: { module: "realtime-handlers", name: "createWebSocketLambdaHandler" },
    enabled: (props) => props.webSocket,
    description: "Job system WebSocket API: connections and subscriptions to runs' events",
    memorySize: () => 256,
    // API Gateway waits 29 seconds at most for an integration.
    timeout: () => Duration.seconds(29),
    wire: (fn, wiring) => {
      const realtime = realtimeOf(wiring, "WebSocket");
      realtime.connect(fn);
      // One integration (one Lambda proxy integration resource) for every route.
      const integration = new WebSocketLambdaIntegration("Integration", fn);
      for (const routeKey of webSocketRouteKeys) realtime.api.addRoute(routeKey, { integration });
      // The token stays in Secrets Manager: the function gets its ARN and may read that secret only.
      fn.addEnvironment(
        jobSystemEnvironmentVariables.webSocketTokenSecretArn,
        realtime.tokenSecret.secretArn,
      );
      grantGetSecretValue(realtime.tokenSecret, fn);
    },
  },
  {
    id: "Fanout",
    factory: { module: "realtime-handlers", name: "createFanoutLambdaHandler" },
    enabled: (props) => props.webSocket,
    description:
      "Job system fanout: pushes new run events from the table stream to subscribed WebSocket connections",
    memorySize: () => 256,
    timeout: () => Duration.seconds(60),
    wire: (fn, wiring) => {
      realtimeOf(wiring, "Fanout").connect(fn);
      fn.addEventSource(
        new DynamoEventSource(wiring.system.table, {
          // Live pushes only: what was written before the mapping existed is in the table.
          startingPosition: lambda.StartingPosition.LATEST,
          batchSize: fanoutBatchSize,
          retryAttempts: fanoutRetryAttempts,
          bisectBatchOnError: true,
          // Lambda drops every other record (run, job, subscription items; updates and
          // deletes) before invoking: the function runs, and is billed, for new events only.
          filters: [
            lambda.FilterCriteria.filter({
              eventName: lambda.FilterRule.isEqual("INSERT"),
              dynamodb: { NewImage: { kind: { S: lambda.FilterRule.isEqual("event") } } },
            }),
          ],
        }),
      );
    },
  },
];

/**
 * `secretsmanager:GetSecretValue` on one secret, and decryption with its key when it has
 * a customer managed one (`Secret.grantRead` would add `DescribeSecret`, which the
 * function does not call).
 */
function grantGetSecretValue(secret: secretsmanager.ISecret, grantee: iam.IGrantable): iam.Grant {
  const grant = iam.Grant.addToPrincipal({
    grantee,
    actions: ["secretsmanager:GetSecretValue"],
    // An imported secret known by name only has a random suffix: `-??????` matches it (as CDK does).
    resourceArns: [secret.secretFullArn ?? `${secret.secretArn}-??????`],
  });
  if (!secret.encryptionKey) return grant;
  return grant.combine(
    secret.encryptionKey.grantDecrypt(
      new iam.PrincipalWithConditions(grantee.grantPrincipal, {
        StringEquals: {
          "kms:ViaService": `secretsmanager.${Stack.of(secret).region}.${Stack.of(secret).urlSuffix}`,
        },
      }),
    ),
  );
}

/** Props with every default applied (in one place: {@link resolveProps}). */
interface ResolvedProps {
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
}

/**
 * A serverless job system: table, lanes, worker and maintenance functions, scheduler
 * group, alarms. Give other functions and containers access with {@link grantClient}
 * (or {@link grantWorker} for a container that runs jobs) and {@link clientEnvironment}.
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
  /** The maintenance function, run every minute. */
  readonly maintenanceFunction: lambda.IFunction;
  /** Every function of the system, by construct id (`Worker`, `Maintenance`). */
  readonly functions: Readonly<Record<string, lambda.IFunction>>;
  /** The alarms: dead letters and oldest message age per lane, errors per function. They have no actions: add yours. */
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

  readonly #encryptionKey: kms.IKey | undefined;

  constructor(scope: Construct, id: string, props: JobSystemProps) {
    super(scope, id);
    const resolved = resolveProps(this, props);
    this.#encryptionKey = resolved.encryptionKey;

    // The primary resource, so its id is `Resource` (CDK convention).
    const table = new dynamodb.Table(this, "Resource", {
      partitionKey: { name: tableDefinition.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: tableDefinition.sortKey, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      stream: dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
      timeToLiveAttribute: tableDefinition.timeToLiveAttribute,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: resolved.pointInTimeRecovery },
      ...(resolved.encryptionKey
        ? { encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED, encryptionKey: resolved.encryptionKey }
        : { encryption: dynamodb.TableEncryption.AWS_MANAGED }),
      removalPolicy: resolved.removalPolicy,
    });
    for (const index of tableDefinition.indexes) {
      table.addGlobalSecondaryIndex({
        indexName: index.indexName,
        partitionKey: { name: index.partitionKey, type: dynamodb.AttributeType.STRING },
        sortKey: { name: index.sortKey, type: dynamodb.AttributeType.STRING },
        projectionType: dynamodb.ProjectionType.ALL,
      });
    }
    this.table = table;

    this.lanes = createLanes(this, resolved);

    const scheduleGroup = new scheduler.ScheduleGroup(this, "ScheduleGroup", {
      removalPolicy: resolved.removalPolicy,
    });
    this.scheduleGroup = scheduleGroup;
    const stack = Stack.of(this);
    const schedulerRole = new iam.Role(this, "SchedulerRole", {
      description:
        "Assumed by the job system's one-time schedules: run releases (lanes) and expiries (maintenance)",
      // Only schedules of this account's group may assume it (confused deputy guard).
      assumedBy: new iam.ServicePrincipal("scheduler.amazonaws.com", {
        conditions: {
          StringEquals: {
            "aws:SourceAccount": stack.account,
            "aws:SourceArn": scheduleGroup.scheduleGroupArn,
          },
        },
      }),
    });
    this.schedulerRole = schedulerRole;
    this.#grantSendToLanes(schedulerRole);
    this.#encryptionKey?.grant(schedulerRole, ...laneSenderKeyActions);

    // Where Scheduler puts a release or expiry it could not deliver after every retry
    // (a standard queue: Scheduler's dead-letter queues cannot be FIFO).
    const scheduleDeadLetterQueue = new sqs.Queue(this, "ScheduleDeadLetterQueue", {
      retentionPeriod: Duration.days(14),
      removalPolicy: resolved.removalPolicy,
      ...queueEncryption(resolved),
    });
    iam.Grant.addToPrincipal({
      grantee: schedulerRole,
      actions: ["sqs:SendMessage"],
      resourceArns: [scheduleDeadLetterQueue.queueArn],
    });
    this.scheduleDeadLetterQueue = scheduleDeadLetterQueue;

    const v = jobSystemEnvironmentVariables;
    this.clientEnvironment = {
      [v.tableName]: table.tableName,
      [v.laneUrls]: stack.toJsonString(
        Object.fromEntries(this.lanes.map((l) => [l.definition.name, l.queue.queueUrl])),
      ),
      [v.scheduleGroupName]: scheduleGroup.scheduleGroupName,
      [v.schedulerRoleArn]: schedulerRole.roleArn,
      [v.schedulerDeadLetterQueueArn]: scheduleDeadLetterQueue.queueArn,
    };

    const realtime = resolved.webSocket ? this.#createWebSocketApi(resolved) : undefined;
    this.webSocketApi = realtime?.api;
    this.webSocketStage = realtime?.stage;
    this.webSocketUrl = realtime?.stage.url;
    this.webSocketCallbackUrl = realtime?.stage.callbackUrl;
    this.webSocketTokenSecret = realtime?.tokenSecret;

    const functions: Record<string, lambda.Function> = {};
    const bundlingSetup = findBundlingSetup(this);
    const specs = functionSpecs.filter((spec) => spec.enabled?.(resolved) ?? true);
    for (const spec of specs) {
      const fn = createFunction(this, spec, resolved, bundlingSetup);
      spec.wire(fn, { system: this, workerMaxConcurrency: resolved.workerMaxConcurrency, realtime });
      functions[spec.id] = fn;
    }
    this.functions = functions;

    // Runs' expiry schedules invoke the expiry target: the scheduler role may invoke it
    // (its unqualified ARN only), and every other function and client is given its ARN.
    // The target itself is not (its environment cannot hold its own ARN: a cycle).
    const expirySpec = specs.find((spec) => spec.expiryTarget);
    if (expirySpec) {
      const expiryTarget = functionById(this, functions, expirySpec.id);
      iam.Grant.addToPrincipal({
        grantee: schedulerRole,
        actions: ["lambda:InvokeFunction"],
        resourceArns: [expiryTarget.functionArn],
      });
      for (const spec of specs) {
        if (spec === expirySpec) continue;
        functionById(this, functions, spec.id).addEnvironment(
          v.schedulerExpiryTargetArn,
          expiryTarget.functionArn,
        );
      }
      this.clientEnvironment = {
        ...this.clientEnvironment,
        [v.schedulerExpiryTargetArn]: expiryTarget.functionArn,
      };
    }
    this.workerFunction = functions.Worker;
    this.maintenanceFunction = functionById(this, functions, "Maintenance");

    this.alarms = [
      ...this.lanes.flatMap((lane) => [
        new cloudwatch.Alarm(this, `${lane.definition.name}DeadLetterAlarm`, {
          alarmDescription: `Messages in the dead-letter queue of lane ${lane.definition.name}`,
          metric: this.metricDeadLetterMessages(lane.definition.name),
          threshold: 0,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
          evaluationPeriods: 1,
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        }),
        new cloudwatch.Alarm(this, `${lane.definition.name}OldestMessageAlarm`, {
          alarmDescription: `The oldest message of lane ${lane.definition.name} is older than the alarm age (messages held until due included)`,
          metric: this.metricOldestMessageAge(lane.definition.name),
          threshold: resolved.oldestMessageAlarmAge.toSeconds(),
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
          evaluationPeriods: 1,
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        }),
      ]),
      new cloudwatch.Alarm(this, "ScheduleDeadLetterAlarm", {
        alarmDescription: "Run releases or expiries EventBridge Scheduler could not deliver",
        metric: scheduleDeadLetterQueue.metricApproximateNumberOfMessagesVisible({
          period: Duration.minutes(1),
          statistic: cloudwatch.Stats.MAXIMUM,
        }),
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
      ...specs.map(
        (spec) =>
          new cloudwatch.Alarm(this, `${spec.id}ErrorsAlarm`, {
            alarmDescription: `Errors of the job system's ${spec.id} function`,
            metric: functionById(this, functions, spec.id).metricErrors({
              period: Duration.minutes(5),
              statistic: cloudwatch.Stats.SUM,
            }),
            threshold: 1,
            comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            evaluationPeriods: 1,
            treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
          }),
      ),
    ];
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
    const stack = Stack.of(this);
    const tableGrant = iam.Grant.addToPrincipal({
      grantee,
      actions: tableItemActions,
      resourceArns: [
        this.table.tableArn,
        ...tableDefinition.indexes.map((index) => `${this.table.tableArn}/index/${index.indexName}`),
      ],
    });
    const scheduleGrant = iam.Grant.addToPrincipal({
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
          stack,
        ),
      ],
    });
    const passRoleGrant = iam.Grant.addToPrincipal({
      grantee,
      actions: ["iam:PassRole"],
      resourceArns: [this.schedulerRole.roleArn],
      conditions: { StringEquals: { "iam:PassedToService": "scheduler.amazonaws.com" } },
    });
    return tableGrant
      .combine(this.#grantSendToLanes(grantee))
      .combine(scheduleGrant)
      .combine(passRoleGrant)
      .combine(this.#grantKey(grantee));
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
    if (!this.webSocketTokenSecret) {
      throw new ValidationError(
        `${this.node.path} grantWebSocketToken`,
        "there is no WebSocket API (webSocket is false)",
      );
    }
    return grantGetSecretValue(this.webSocketTokenSecret, grantee);
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
    return this.grantClient(grantee).combine(
      iam.Grant.addToPrincipal({
        grantee,
        actions: laneConsumerActions,
        resourceArns: this.lanes.map((lane) => lane.queue.queueArn),
      }),
    );
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
    return this.#lane(laneName).deadLetterQueue.metricApproximateNumberOfMessagesVisible({
      period: Duration.minutes(1),
      statistic: cloudwatch.Stats.MAXIMUM,
      ...props,
    });
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
    return this.#lane(laneName).queue.metricApproximateAgeOfOldestMessage({
      period: Duration.minutes(5),
      statistic: cloudwatch.Stats.MAXIMUM,
      ...props,
    });
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
    return this.#lane(laneName).queue.metricApproximateNumberOfMessagesVisible({
      period: Duration.minutes(1),
      statistic: cloudwatch.Stats.MAXIMUM,
      ...props,
    });
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

  #lane(name: string): JobLane {
    const lane = this.lanes.find((l) => l.definition.name === name);
    if (!lane) {
      const known = this.lanes.map((l) => l.definition.name).join(", ");
      throw new ValidationError(`${this.node.path} lane`, `"${name}" is not a lane (lanes: ${known})`);
    }
    return lane;
  }

  /** `sqs:SendMessage` on the lanes (`Queue.grantSendMessages` would add `GetQueueUrl` and `GetQueueAttributes`, and `kms:ReEncrypt*`, `kms:GenerateDataKey*` with a key). */
  #grantSendToLanes(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ["sqs:SendMessage"],
      resourceArns: this.lanes.map((lane) => lane.queue.queueArn),
    });
  }

  /**
   * The WebSocket API, its stage and the token secret. Routes are added by the WebSocket
   * function's row, once the function exists.
   */
  #createWebSocketApi(props: ResolvedProps): RealtimeWiring {
    const api = new apigwv2.WebSocketApi(this, "WebSocketApi", {
      apiName: `${Names.uniqueResourceName(this, { maxLength: 100, separator: "-" })}-websocket`,
      description: "Job system: live run events (subscribe / unsubscribe by run id)",
      routeSelectionExpression: "$request.body.action",
    });
    const stage = new apigwv2.WebSocketStage(this, "WebSocketStage", {
      webSocketApi: api,
      stageName: webSocketStageName,
      autoDeploy: true,
    });
    const tokenSecret =
      props.webSocketTokenSecret ??
      new secretsmanager.Secret(this, "WebSocketToken", {
        description:
          "Token the job system's WebSocket API accepts on $connect (?token= or Authorization: Bearer)",
        // Letters and digits only: it travels in a query string.
        generateSecretString: { passwordLength: 48, excludePunctuation: true, includeSpace: false },
        removalPolicy: props.removalPolicy,
      });
    const stack = Stack.of(this);
    const connect = (fn: lambda.Function) => {
      fn.addEnvironment(jobSystemEnvironmentVariables.webSocketCallbackUrl, stage.callbackUrl);
      this.#grantRealtime(fn);
      iam.Grant.addToPrincipal({
        grantee: fn,
        // PostToConnection is the only management call the SDK makes (no GET, no DELETE).
        actions: ["execute-api:ManageConnections"],
        resourceArns: [
          stack.formatArn({
            service: "execute-api",
            resource: api.apiId,
            resourceName: `${stage.stageName}/POST/@connections/*`,
          }),
        ],
      });
    };
    return { api, stage, tokenSecret, connect };
  }

  /**
   * Table access of the realtime functions: reads of runs, events and subscriptions
   * (`GetItem`, `Query` on the table; no index), and `BatchWriteItem` of subscription
   * items only (partition keys `SUB#…` and `CONN#…`, `sdk/src/realtime/subscriptions.ts`).
   */
  #grantRealtime(grantee: iam.IGrantable): iam.Grant {
    const reads = iam.Grant.addToPrincipal({
      grantee,
      actions: ["dynamodb:GetItem", "dynamodb:Query"],
      resourceArns: [this.table.tableArn],
    });
    const subscriptionPartitions = [subscriptionKey("", "").pk, connectionSubscriptionKey("", "").pk];
    const writes = iam.Grant.addToPrincipal({
      grantee,
      actions: ["dynamodb:BatchWriteItem"],
      resourceArns: [this.table.tableArn],
      conditions: {
        "ForAllValues:StringLike": {
          "dynamodb:LeadingKeys": subscriptionPartitions.map((prefix) => `${prefix}*`),
        },
      },
    });
    return reads.combine(writes).combine(this.#grantKey(grantee));
  }

  #grantKey(grantee: iam.IGrantable): iam.Grant {
    return this.#encryptionKey
      ? this.#encryptionKey.grant(grantee, ...keyActions)
      : iam.Grant.drop(grantee, "no customer managed key: AWS and SQS managed keys need no grant");
  }
}

/** Applies the defaults and validates (skipping values that are tokens until deploy time). */
function resolveProps(scope: Construct, props: JobSystemProps): ResolvedProps {
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
  const oldestMessageAlarmAge = props.oldestMessageAlarmAge ?? Duration.minutes(30);

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
    oldestMessageAlarmAge,
    logRetention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
    webSocket: props.webSocket ?? true,
    webSocketTokenSecret: props.webSocketTokenSecret,
  };
}

function checkInteger(path: string, name: string, value: number, min: number, max: number): void {
  if (Token.isUnresolved(value)) return;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ValidationError(`${path} ${name}`, `must be an integer from ${min} to ${max}, got ${value}`);
  }
}

/**
 * The lanes: one FIFO queue per band, each with a FIFO dead-letter queue. Queue names
 * follow the local stack's `<prefix><lane>.fifo` (`laneQueueName`), with a prefix unique
 * to this construct in its stack, cut to fit SQS's 80 characters.
 */
function createLanes(scope: JobSystem, props: ResolvedProps): JobLane[] {
  const longest = Math.max(...props.lanes.map((lane) => lane.name.length));
  const prefix = `${Names.uniqueResourceName(scope, {
    maxLength: 80 - ".fifo".length - "-dlq".length - "-".length - longest,
    separator: "-",
    allowedSpecialCharacters: "-_",
  })}-`;
  const encryption = queueEncryption(props);
  const retentionPeriod = Duration.seconds(Number(laneQueueAttributes.MessageRetentionPeriod));
  return props.lanes.map((definition) => {
    const deadLetterQueue = new sqs.Queue(scope, `${definition.name}DeadLetterQueue`, {
      queueName: laneQueueName(prefix, { ...definition, name: `${definition.name}-dlq` }),
      fifo: true,
      retentionPeriod,
      removalPolicy: props.removalPolicy,
      ...encryption,
    });
    const queue = new sqs.Queue(scope, `${definition.name}Lane`, {
      queueName: laneQueueName(prefix, definition),
      fifo: true,
      // Off, as in laneQueueAttributes: every message carries its own deduplication id.
      contentBasedDeduplication: false,
      // AWS guidance for SQS event sources: at least six times the function's timeout.
      visibilityTimeout: Duration.seconds(6 * props.workerTimeout.toSeconds()),
      retentionPeriod,
      deadLetterQueue: { queue: deadLetterQueue, maxReceiveCount: laneMaxReceiveCount },
      removalPolicy: props.removalPolicy,
      ...encryption,
    });
    return { definition, queue, deadLetterQueue };
  });
}

/** SSE-SQS, or the customer key when one is given. */
function queueEncryption(props: ResolvedProps): Pick<sqs.QueueProps, "encryption" | "encryptionMasterKey"> {
  return props.encryptionKey
    ? { encryption: sqs.QueueEncryption.KMS, encryptionMasterKey: props.encryptionKey }
    : { encryption: sqs.QueueEncryption.SQS_MANAGED };
}

/** Where bundling runs from: the project root (the folder of the nearest lock file). */
interface BundlingSetup {
  readonly projectRoot: string;
  readonly depsLockFilePath: string;
}

const lockFileNames = ["package-lock.json", "pnpm-lock.yaml", "yarn.lock", "bun.lock", "bun.lockb"];

/**
 * Finds the project root as `NodejsFunction` does (the nearest lock file above the
 * working directory) and checks that esbuild is installed there: without it CDK would
 * fall back to bundling in Docker, which this construct never wants.
 */
function findBundlingSetup(scope: Construct): BundlingSetup {
  for (let dir = process.cwd(); ; dir = dirname(dir)) {
    const lockFile = lockFileNames.map((name) => join(dir, name)).find((file) => existsSync(file));
    if (lockFile) {
      try {
        createRequire(join(dir, "package.json")).resolve("esbuild");
      } catch (error) {
        throw new ValidationError(
          `${scope.node.path} bundling`,
          `esbuild is not installed in ${dir}: add it as a devDependency (functions are bundled locally, never in Docker)`,
          { cause: error },
        );
      }
      return { projectRoot: dir, depsLockFilePath: lockFile };
    }
    if (dirname(dir) === dir) {
      throw new ValidationError(
        `${scope.node.path} bundling`,
        `no lock file (${lockFileNames.join(", ")}) in ${process.cwd()} or above: run cdk from your project`,
      );
    }
  }
}

function createFunction(
  scope: JobSystem,
  spec: FunctionSpec,
  props: ResolvedProps,
  setup: BundlingSetup,
): lambda.Function {
  const entry = writeEntry(
    setup.projectRoot,
    `${spec.id.toLowerCase()}.mjs`,
    entrySource(spec.factory, props.jobsEntry),
  );
  // An explicit role and log group: the role may write to this log group only (no
  // AWSLambdaBasicExecutionRole, whose statements cover every log group).
  const logGroup = new logs.LogGroup(scope, `${spec.id}Logs`, {
    retention: props.logRetention,
    removalPolicy: props.removalPolicy,
  });
  const role = new iam.Role(scope, `${spec.id}Role`, {
    assumedBy: new iam.ServicePrincipal("lambda.amazonaws.com"),
    description: `Execution role of the job system's ${spec.id} function`,
  });
  logGroup.grantWrite(role);
  return new nodejs.NodejsFunction(scope, spec.id, {
    entry,
    projectRoot: setup.projectRoot,
    depsLockFilePath: setup.depsLockFilePath,
    handler: "handler",
    description: spec.description,
    runtime: lambda.Runtime.NODEJS_22_X,
    architecture: lambda.Architecture.ARM_64,
    memorySize: spec.memorySize(props),
    timeout: spec.timeout(props),
    role,
    logGroup,
    ...(spec.allowRecursiveLoop ? { recursiveLoop: lambda.RecursiveLoop.ALLOW } : {}),
    environment: {
      ...scope.clientEnvironment,
      [jobSystemEnvironmentVariables.retentionSeconds]: props.retention.isUnresolved()
        ? Token.asString(props.retention.toSeconds())
        : String(props.retention.toSeconds()),
      NODE_OPTIONS: "--enable-source-maps",
    },
    bundling: {
      format: nodejs.OutputFormat.ESM,
      target: "node22",
      mainFields: ["module", "main"],
      // Some bundled CommonJS dependencies call require() for Node built-ins; ESM has none.
      banner:
        "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
      // Bundle the pinned AWS SDK instead of the runtime's: the tested version, every time.
      externalModules: [],
      minify: true,
      keepNames: true,
      sourceMap: true,
      // File and line in stack traces without shipping the sources (a third of the size).
      sourcesContent: false,
      forceDockerBundling: false,
      logLevel: nodejs.LogLevel.WARNING,
    },
  });
}

function functionById(
  scope: Construct,
  functions: Record<string, lambda.Function>,
  id: string,
): lambda.Function {
  const fn = functions[id];
  if (!fn) throw new ValidationError(`${scope.node.path} functions`, `no function "${id}" is registered`);
  return fn;
}
