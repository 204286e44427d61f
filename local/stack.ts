/**
 * The local stack: DynamoDB Local, the fauxqs SQS emulator, the table and lanes (from
 * the same definitions the CDK construct uses), polling workers, the local timer, the
 * two stream consumers (wake-ups and fanout; run counts) and the WebSocket server, all
 * in one process. `stop()` stops everything and waits for the Java child to exit.
 *
 * With `dataDir`, the stream consumers keep their positions there, and a restart first
 * re-sends the wake-ups of Pending runs (the SQS emulator keeps nothing across restarts).
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SQSClient } from "@aws-sdk/client-sqs";
import { connect, type JobSystem, registerJobs } from "../sdk/src/connect.js";
import type { JobApp } from "../sdk/src/jobs/job-app.js";
import { resendPending } from "../sdk/src/maintenance/resend-pending.js";
import { LocalRunTimer } from "../sdk/src/timer/local-timer.js";
import { PollingWorker } from "../sdk/src/worker/polling-worker.js";
import { localClientConfig } from "./aws-clients.js";
import { startDynamoDbLocal } from "./dynamodb-local.js";
import { startLocalTimer } from "./local-timer.js";
import { createLanes, createTable } from "./provision.js";
import { startLocalRealtime } from "./realtime.js";
import { startSqsLocal } from "./sqs-local.js";
import { startStreamConsumers } from "./stream-consumers.js";

export interface LocalStackOptions {
  /** The jobs workers execute. */
  readonly app: JobApp;
  /** Keep DynamoDB data in this folder across restarts; in memory when absent. */
  readonly dataDir?: string;
  /** @default a free port */
  readonly dynamoDbPort?: number;
  /** @default a free port */
  readonly sqsPort?: number;
  /** @default "jobs" */
  readonly tableName?: string;
  /** Prefix of the lane queue names. @default "jobs-" */
  readonly queuePrefix?: string;
  /** Polling workers to start. @default 2 */
  readonly workers?: number;
  /** Runs per worker at once. @default 4 */
  readonly concurrency?: number;
  /** Lease length, in ms: a worker whose heartbeat is older is gone. @default 10000 */
  readonly leaseMs?: number;
  /** How often a running attempt checks it still holds its run (a cancel shows then), in ms. @default 1000 */
  readonly heartbeatMs?: number;
  /** How often buffered logs and progress are written, in ms. @default 5000 */
  readonly flushMs?: number;
  /** Interval of the local timer (run timers and maintenance passes), in ms. @default 250 */
  readonly timerIntervalMs?: number;
  /** How often the run counts consumer reads the stream, in ms. @default 10000 */
  readonly projectionsIntervalMs?: number;
  /** Port of the WebSocket server. @default a free port */
  readonly webSocketPort?: number;
  /** Token WebSocket clients must present. @default a random token */
  readonly webSocketToken?: string;
}

export interface LocalStack {
  readonly dynamoDbEndpoint: string;
  readonly sqsEndpoint: string;
  readonly tableName: string;
  readonly laneUrls: Readonly<Record<string, string>>;
  readonly system: JobSystem;
  readonly workers: readonly PollingWorker[];
  /** The WebSocket API stand-in: its URL and the token clients present. */
  readonly webSocket: { readonly url: string; readonly token: string };
  stop(): Promise<void>;
}

export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const [dynamo, sqsLocal] = await Promise.all([
    startDynamoDbLocal({
      ...(options.dynamoDbPort !== undefined ? { port: options.dynamoDbPort } : {}),
      ...(options.dataDir !== undefined ? { dataDir: options.dataDir } : {}),
    }),
    startSqsLocal(options.sqsPort !== undefined ? { port: options.sqsPort } : {}),
  ]);
  const dynamodb = new DynamoDBClient(localClientConfig(dynamo.endpoint));
  const sqs = new SQSClient(localClientConfig(sqsLocal.endpoint));
  const tableName = options.tableName ?? "jobs";
  const [{ laneUrls, deadLetterUrls }] = await Promise.all([
    createLanes(sqs, options.queuePrefix ?? "jobs-"),
    createTable(dynamodb, tableName),
  ]);
  // The local implementation of the timer port (EventBridge Scheduler on AWS), fired by the timer loop below.
  let runTimer: LocalRunTimer | undefined;
  const system = connect({
    dynamodb,
    sqs,
    tableName,
    laneUrls,
    deadLetterUrls,
    app: options.app,
    timer: (parts) => (runTimer = new LocalRunTimer(parts)),
  });
  await registerJobs(system, options.app);
  if (options.dataDir !== undefined) await resendPending(system.store, system.dispatcher, runTimer);

  const workerOptions = {
    app: options.app,
    store: system.store,
    dispatcher: system.dispatcher,
    client: system.client,
    ...(runTimer ? { timer: runTimer } : {}),
    leaseMs: options.leaseMs ?? 10_000,
    heartbeatMs: options.heartbeatMs ?? 1_000,
    ...(options.flushMs !== undefined ? { flushMs: options.flushMs } : {}),
    concurrency: options.concurrency ?? 4,
    shutdownGraceMs: 5_000,
  };
  const workers = Array.from({ length: options.workers ?? 2 }, () =>
    new PollingWorker(workerOptions).start(),
  );
  const timer = startLocalTimer({
    store: system.store,
    dispatcher: system.dispatcher,
    app: options.app,
    ...(runTimer ? { timer: runTimer } : {}),
    leaseMs: options.leaseMs ?? 10_000,
    intervalMs: options.timerIntervalMs ?? 250,
  });

  const realtime = await startLocalRealtime({
    store: system.store,
    ...(options.webSocketPort !== undefined ? { port: options.webSocketPort } : {}),
    ...(options.webSocketToken !== undefined ? { token: options.webSocketToken } : {}),
  });
  const consumers = await startStreamConsumers({
    dynamodb,
    dynamoDbEndpoint: dynamo.endpoint,
    store: system.store,
    dispatcher: system.dispatcher,
    ...(runTimer ? { timer: runTimer } : {}),
    fanout: realtime.fanout,
    ...(options.dataDir !== undefined ? { dataDir: options.dataDir } : {}),
    ...(options.projectionsIntervalMs !== undefined
      ? { projectionsIntervalMs: options.projectionsIntervalMs }
      : {}),
  });

  let stopping: Promise<void> | undefined;
  return {
    dynamoDbEndpoint: dynamo.endpoint,
    sqsEndpoint: sqsLocal.endpoint,
    tableName,
    laneUrls,
    system,
    workers,
    webSocket: { url: realtime.url, token: realtime.token },
    stop() {
      stopping ??= (async () => {
        await Promise.all(workers.map((w) => w.stop()));
        await timer.stop();
        await consumers.stop();
        await realtime.stop();
        dynamodb.destroy();
        sqs.destroy();
        await Promise.all([dynamo.stop(), sqsLocal.stop()]);
      })();
      return stopping;
    },
  };
}
