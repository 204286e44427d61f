/**
 * Every function of the job system, one row each ({@link functionSpecs}): its handler
 * factory, its size and what triggers it. Adding a function is one more row.
 *
 * ```
 * lanes ──SQS ESM──▶ Worker                 (claims and executes runs)
 * Scheduler (1 min) ─▶ Maintenance          (the lanes' DLQs, runs due later; expiry target; one at a time)
 * API Gateway ───────▶ WebSocket            (connections, subscriptions)   [webSocket]
 * table stream ──────▶ StreamDispatch       (wake-ups, waiters of freed slots, timers, cascade cancel, batches; fanout with webSocket)
 * table stream ──────▶ Projections          (aggregates)
 * ```
 */
import { Duration } from "aws-cdk-lib";
import * as lambda from "aws-cdk-lib/aws-lambda";
import { SqsEventSource } from "aws-cdk-lib/aws-lambda-event-sources";
import * as scheduler from "aws-cdk-lib/aws-scheduler";
import * as schedulerTargets from "aws-cdk-lib/aws-scheduler-targets";
import { ValidationError } from "../sdk/src/errors.js";
import {
  appliedBatchKey,
  batchPk,
  countsKey,
  dedupPkPrefix,
  limitPkPrefix,
  runPk,
} from "../sdk/src/store/keys.js";
import { IndexName } from "../sdk/src/store/table-definition.js";
import { grantKey } from "./encryption.js";
import { jobSystemEnvironmentVariables } from "./environment.js";
import type { FunctionSpec, FunctionWiring } from "./functions.js";
import { grantClient } from "./parts.js";
import type { RealtimeApi } from "./realtime-api.js";

/** Records per worker invocation: the most an SQS FIFO event source allows. */
const workerBatchSize = 10;

/** The one-minute maintenance pass must finish before the next one starts. */
const maintenanceTimeout = Duration.seconds(60);

/**
 * Maintenance passes at a time. One: passes never overlap, so they need no coordination;
 * a tick or an expiry arriving while a pass runs is throttled and retried by Lambda's
 * asynchronous invocation queue (for up to 6 hours), not lost.
 */
const maintenanceConcurrency = 1;

/**
 * Stream records per dispatch invocation, with no batching window (a wake-up waits for
 * nothing). The dispatch looks up each run's subscribers once per batch.
 */
const streamDispatchBatchSize = 100;

/**
 * Stream records per projections invocation, gathered for up to a minute: the aggregate
 * writes of a batch are shared by all its runs (one `UpdateItem` per aggregate item, not per run).
 */
const projectionsBatchSize = 1000;
const projectionsBatchingWindow = Duration.seconds(60);

/** Every scope of the run counts (`countsKey`): a scope the SDK adds fails to compile here until listed. */
const countScopes: Record<Parameters<typeof countsKey>[0], true> = { job: true, queue: true };

/**
 * The projections' writes, one transaction per batch (IAM checks each of its items as
 * its own action; there is no `TransactWriteItems` action): an `Update` (`ADD`) of the
 * run counts items (`AGG#<scope>#<name>`, `countsKey`) and a `Put` of the batch's marker
 * (`AGGB#<shard>`, `appliedBatchKey`, under `attribute_not_exists`, so a retried batch is
 * not counted twice). Each action is limited to its items' partitions.
 */
const projectionWrites: readonly {
  readonly actions: readonly string[];
  readonly partitionKeyPrefixes: readonly string[];
}[] = [
  {
    actions: ["dynamodb:UpdateItem"],
    partitionKeyPrefixes: (Object.keys(countScopes) as (keyof typeof countScopes)[]).map(
      (scope) => countsKey(scope, "").pk,
    ),
  },
  { actions: ["dynamodb:PutItem"], partitionKeyPrefixes: [appliedBatchKey("", "").pk] },
];

/** A filter pattern on the item kind (`kind`) of a record's new or old image. */
function imageKindFilter(image: "NewImage" | "OldImage", kinds: readonly string[]): Record<string, unknown> {
  return { dynamodb: { [image]: { kind: { S: lambda.FilterRule.or(...kinds) } } } };
}

function realtimeOf(wiring: FunctionWiring, id: string): RealtimeApi {
  if (!wiring.parts.realtime) {
    throw new ValidationError(
      `${wiring.scope.node.path} ${id}`,
      "needs the WebSocket API (webSocket is false)",
    );
  }
  return wiring.parts.realtime;
}

/**
 * Every function of the system. To add one, add a row: its handler factory, its size
 * and what triggers it (see the Projections row: a stream consumer and one grant).
 */
export const functionSpecs: readonly FunctionSpec[] = [
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
    wire: (fn, { parts, props }) => {
      grantClient(parts, fn);
      for (const lane of parts.lanes.lanes) {
        fn.addEventSource(
          new SqsEventSource(lane.queue, {
            batchSize: workerBatchSize,
            reportBatchItemFailures: true,
            maxConcurrency: props.workerMaxConcurrency,
          }),
        );
      }
    },
  },
  {
    id: "Maintenance",
    factory: { module: "handlers", name: "createMaintenanceLambdaHandler" },
    description:
      "Job system maintenance: the lanes' dead letters, runs due later, expiries (every minute, one pass at a time)",
    memorySize: () => 256,
    timeout: () => maintenanceTimeout,
    reservedConcurrency: maintenanceConcurrency,
    expiryTarget: true,
    wire: (fn, { scope, parts }) => {
      grantClient(parts, fn);
      // It drains the lanes' dead-letter queues and sends each wake-up back to its lane
      // (SendMessage comes with the client grant; the customer key too).
      parts.lanes.grantConsumeDeadLetters(fn);
      fn.addEnvironment(jobSystemEnvironmentVariables.deadLetterUrls, parts.lanes.deadLetterQueueUrlsJson);
      // Scheduler's one-minute rate, not an EventBridge rule: the same service as the
      // runs' one-time schedules, with retries and event age set on the target. It stays
      // in the default group, outside the group clients may create and delete in.
      new scheduler.Schedule(scope, "MaintenanceSchedule", {
        schedule: scheduler.ScheduleExpression.rate(Duration.minutes(1)),
        description: "Runs the job system's maintenance pass every minute",
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
      realtimeOf(wiring, "WebSocket").addConnectionHandler(fn);
    },
  },
  {
    id: "StreamDispatch",
    factory: { module: "stream-handlers", name: "createStreamDispatchLambdaHandler" },
    description:
      "Job system stream dispatch: wake-ups and timers of the runs a write left Pending, the WebSocket fanout of new events, the cascade cancel of children, and batches (children, cancel, counts)",
    memorySize: () => 256,
    timeout: () => Duration.seconds(60),
    wire: (fn, { parts }) => {
      // The reliable path of wake-ups: the same message as the writer's, same
      // deduplication id (SQS drops the copy); and the Scheduler timer of runs due later.
      parts.lanes.grantSendMessages(fn);
      parts.timers.grantManageSchedules(fn);
      // Reads of runs and subscriptions.
      parts.table.grantItems(fn, ["dynamodb:GetItem", "dynamodb:Query"]);
      // The cascade cancel (runs/cascade-cancel.ts): a parent's children by the byParent
      // index, read 100 at a time; each canceled by a conditional update of its run item,
      // or a transaction that also puts its status events (RUN#) and frees its
      // deduplication lock (DEDUP#); a Succeeded child marked by an update.
      parts.table.grantItems(fn, ["dynamodb:Query"], { indexes: [IndexName.byParent] });
      parts.table.grantItems(fn, ["dynamodb:BatchGetItem"]);
      // Batches (batches/): children created (RUN#, with a deduplication lock: DEDUP#), the
      // batch record's cursors and cancel request, its counters and event items (BATCH#),
      // and the marker of each applied stream batch (AGGB#).
      parts.table.grantItems(fn, ["dynamodb:UpdateItem", "dynamodb:PutItem"], {
        partitionKeyPrefixes: [runPk(""), batchPk(""), dedupPkPrefix, appliedBatchKey("", "").pk],
      });
      parts.table.grantItems(fn, ["dynamodb:DeleteItem"], { partitionKeyPrefixes: [dedupPkPrefix] });
      // Waking waiters when slots free (limits/slot-release-wake-ups.ts): the woken run's
      // item (RUN#, above) and, in the same transaction, the slot it is handed (a PutItem
      // in its limit's partition), then the waiter item's delete (LIMIT#).
      parts.table.grantItems(fn, ["dynamodb:PutItem", "dynamodb:DeleteItem"], {
        partitionKeyPrefixes: [limitPkPrefix],
      });
      grantKey(parts.encryptionKey, fn);
      // With the WebSocket API it is the fanout too: the callback URL and its grants.
      parts.realtime?.connectFunction(fn);
      parts.table.addStreamConsumer(fn, {
        batchSize: streamDispatchBatchSize,
        filters: [
          lambda.FilterCriteria.filter({
            eventName: lambda.FilterRule.or("INSERT", "MODIFY"),
            // Runs and their events; batch records (creation and cancel steps) and batch
            // event items (the fanout's batch doorbell).
            ...imageKindFilter("NewImage", ["run", "event", "batch", "batchEvents"]),
          }),
        ],
      });
    },
  },
  {
    id: "Projections",
    factory: { module: "stream-handlers", name: "createProjectionsLambdaHandler" },
    description: "Job system projections: run counts per job and queue by status, from the table stream",
    memorySize: () => 256,
    timeout: () => Duration.seconds(60),
    wire: (fn, { parts }) => {
      for (const { actions, partitionKeyPrefixes } of projectionWrites) {
        parts.table.grantItems(fn, actions, { partitionKeyPrefixes });
      }
      grantKey(parts.encryptionKey, fn);
      // Run items only: written (new image) or deleted, by TTL too (old image): a deleted
      // run leaves its status's count.
      parts.table.addStreamConsumer(fn, {
        batchSize: projectionsBatchSize,
        maxBatchingWindow: projectionsBatchingWindow,
        filters: [
          lambda.FilterCriteria.filter(imageKindFilter("NewImage", ["run"])),
          lambda.FilterCriteria.filter({
            eventName: lambda.FilterRule.isEqual("REMOVE"),
            ...imageKindFilter("OldImage", ["run"]),
          }),
        ],
      });
    },
  },
];
