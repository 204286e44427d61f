/**
 * The local stack: DynamoDB Local, the fauxqs SQS emulator, the table and lanes (from
 * the same definitions the CDK construct uses), polling workers, the local timer, the
 * two stream consumers (wake-ups and fanout; run counts) and the WebSocket server, all
 * in one process. `stop()` stops everything and waits for the Java child to exit.
 *
 * With `dataDir`, the folder is locked while the stack runs (`data-dir-lock.ts`), its
 * ports are kept for the next start (`saved-ports.ts`), the stream consumers keep their
 * positions there, and a restart first re-sends the wake-ups of Pending runs (the SQS
 * emulator keeps nothing across restarts).
 *
 * With `dynamoDbEndpoint` or `sqsEndpoint`, that emulator is not started: the stack uses
 * the service already running there (LocalStack, a DynamoDB Local of one's own), and
 * creates the table and lanes there if they are missing.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SQSClient } from "@aws-sdk/client-sqs";
import { environmentVariables } from "../sdk/src/config/environment.js";
import { connect, type JobSystem, registerJobs } from "../sdk/src/connect.js";
import type { JobApp } from "../sdk/src/jobs/job-app.js";
import { resendWakeUps } from "../sdk/src/maintenance/resend-wake-ups.js";
import { LocalRunTimer } from "../sdk/src/timer/local-timer.js";
import { PollingWorker } from "../sdk/src/worker/polling-worker.js";
import { localClientConfig } from "./aws-clients.js";
import { type DataDirLock, lockDataDir } from "./data-dir-lock.js";
import { startDynamoDbLocal } from "./dynamodb-local.js";
import { PortInUseError } from "./errors.js";
import { startLocalTimer } from "./local-timer.js";
import { createLanes, createTable } from "./provision.js";
import { startLocalRealtime } from "./realtime.js";
import { readSavedPorts, savePorts } from "./saved-ports.js";
import { startSqsLocal } from "./sqs-local.js";
import { startStreamConsumers } from "./stream-consumers.js";

export interface LocalStackOptions {
  /** The jobs workers execute. */
  readonly app: JobApp;
  /**
   * Keep DynamoDB data, stream positions and ports in this folder across restarts
   * (created if missing); in memory when absent. One stack at a time per folder.
   */
  readonly dataDir?: string;
  /** Use the DynamoDB (API and streams) already running at this URL instead of starting DynamoDB Local, e.g. `http://127.0.0.1:8000`. */
  readonly dynamoDbEndpoint?: string;
  /** Use the SQS already running at this URL instead of starting fauxqs, e.g. LocalStack's `http://127.0.0.1:4566`. */
  readonly sqsEndpoint?: string;
  /** Port of DynamoDB Local; `0` picks a free one. @default the port saved in `dataDir`, else a free one */
  readonly dynamoDbPort?: number;
  /** Port of fauxqs; `0` picks a free one. @default the port saved in `dataDir`, else a free one */
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
  /** Port of the WebSocket server; `0` picks a free one. @default the port saved in `dataDir`, else a free one */
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
  /**
   * The environment another process needs to reach this stack with
   * `connectFromEnvironment()`: region, dummy credentials, both endpoints, the table
   * name and the lane URLs.
   */
  readonly environment: Readonly<Record<string, string>>;
  /**
   * Stops the workers (running handlers get 5 s), the timer, the stream consumers, the
   * WebSocket server and the emulators, waits for the Java child to exit and releases the
   * data folder. Leaves no timer or socket behind: the process can exit at once. Idempotent.
   */
  stop(): Promise<void>;
}

/** Something started, and how to stop it; stopped in reverse order. */
type Stop = () => Promise<void> | void;

/**
 * Starts the local stack. Throws `DataDirLockedError` when another stack holds `dataDir`,
 * `PortInUseError` naming a taken port, `MissingPackageError` when an emulator package is
 * not installed, and `ResourceMismatchError` when an existing table or queue has other
 * settings. What was started before a failure is stopped again.
 */
export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  options.app.validate(); // before any emulator starts: a queue or rate limit named but not defined
  const stops: Stop[] = [];
  const stopAll = async () => {
    for (const stop of stops.splice(0).reverse()) await stop();
  };
  try {
    return await startParts(options, stops, stopAll);
  } catch (error) {
    await stopAll();
    throw error;
  }
}

async function startParts(
  options: LocalStackOptions,
  stops: Stop[],
  stopAll: () => Promise<void>,
): Promise<LocalStack> {
  const dataDir = options.dataDir;
  let lock: DataDirLock | undefined;
  if (dataDir !== undefined) {
    const held = await lockDataDir(dataDir);
    lock = held;
    stops.push(() => held.release());
  }
  const saved = dataDir !== undefined ? readSavedPorts(dataDir) : {};

  // Settled both ways before going on: a failure of one must not leave the other starting unseen.
  const [dynamoDbEndpoint, sqsEndpoint] = await allOrFirstError([
    options.dynamoDbEndpoint ??
      onPort(options.dynamoDbPort, saved.dynamoDb, "DynamoDB Local", (port) =>
        startDynamoDbLocal({ port, ...(dataDir !== undefined ? { dataDir } : {}) }),
      ).then((dynamo) => {
        stops.push(() => dynamo.stop());
        lock?.recordJavaPid(dynamo.pid);
        return dynamo.endpoint;
      }),
    options.sqsEndpoint ??
      onPort(options.sqsPort, saved.sqs, "SQS (fauxqs)", (port) => startSqsLocal({ port })).then(
        (sqsLocal) => {
          stops.push(() => sqsLocal.stop());
          return sqsLocal.endpoint;
        },
      ),
  ]);
  const dynamodb = new DynamoDBClient(localClientConfig(dynamoDbEndpoint));
  const sqs = new SQSClient(localClientConfig(sqsEndpoint));
  stops.push(() => {
    dynamodb.destroy();
    sqs.destroy();
  });
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
  if (dataDir !== undefined) await resendWakeUps(system.store, system.dispatcher, runTimer);

  const realtime = await onPort(options.webSocketPort, saved.webSocket, "WebSocket server", (port) =>
    startLocalRealtime({
      store: system.store,
      port,
      ...(options.webSocketToken !== undefined ? { token: options.webSocketToken } : {}),
    }),
  );
  stops.push(() => realtime.stop());

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
  const consumers = await startStreamConsumers({
    dynamodb,
    dynamoDbEndpoint,
    store: system.store,
    dispatcher: system.dispatcher,
    ...(runTimer ? { timer: runTimer } : {}),
    fanout: realtime.fanout,
    ...(dataDir !== undefined ? { dataDir } : {}),
    ...(options.projectionsIntervalMs !== undefined
      ? { projectionsIntervalMs: options.projectionsIntervalMs }
      : {}),
  });
  stops.push(() => consumers.stop());
  const timer = startLocalTimer({
    store: system.store,
    dispatcher: system.dispatcher,
    app: options.app,
    ...(runTimer ? { timer: runTimer } : {}),
    leaseMs: options.leaseMs ?? 10_000,
    intervalMs: options.timerIntervalMs ?? 250,
  });
  stops.push(() => timer.stop());
  const workers = Array.from({ length: options.workers ?? 2 }, () =>
    new PollingWorker(workerOptions).start(),
  );
  stops.push(() => Promise.all(workers.map((w) => w.stop())).then(() => undefined));

  if (dataDir !== undefined) {
    savePorts(dataDir, {
      ...(options.dynamoDbEndpoint === undefined ? { dynamoDb: portOf(dynamoDbEndpoint) } : {}),
      ...(options.sqsEndpoint === undefined ? { sqs: portOf(sqsEndpoint) } : {}),
      webSocket: portOf(realtime.url),
    });
  }

  const local = localClientConfig(dynamoDbEndpoint);
  let stopping: Promise<void> | undefined;
  return {
    dynamoDbEndpoint,
    sqsEndpoint,
    tableName,
    laneUrls,
    system,
    workers,
    webSocket: { url: realtime.url, token: realtime.token },
    environment: {
      AWS_REGION: local.region,
      AWS_ACCESS_KEY_ID: local.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: local.credentials.secretAccessKey,
      AWS_ENDPOINT_URL_DYNAMODB: dynamoDbEndpoint,
      AWS_ENDPOINT_URL_SQS: sqsEndpoint,
      [environmentVariables.tableName]: tableName,
      [environmentVariables.laneUrls]: JSON.stringify(laneUrls),
      [environmentVariables.deadLetterUrls]: JSON.stringify(deadLetterUrls),
    },
    stop() {
      stopping ??= stopAll();
      return stopping;
    },
  };
}

const portOf = (url: string) => Number(new URL(url).port);

/**
 * Starts a service on the port given (taken: `PortInUseError`, the caller's to change),
 * else on the port saved in the data folder, else on a free one. A saved port that another
 * program took meanwhile falls back to a free one, with a warning: the restart goes on.
 */
async function onPort<T>(
  explicit: number | undefined,
  saved: number | undefined,
  service: string,
  start: (port: number) => Promise<T>,
): Promise<T> {
  if (explicit !== undefined || saved === undefined) return start(explicit ?? 0);
  try {
    return await start(saved);
  } catch (error) {
    if (!(error instanceof PortInUseError)) throw error;
    console.warn(`local stack: port ${saved} (saved for the ${service}) is taken now; using a free one`);
    return start(0);
  }
}

/** Like `Promise.all`, but waits for every promise to settle before rejecting with the first error. */
async function allOrFirstError<T extends readonly unknown[]>(
  promises: { readonly [K in keyof T]: Promise<T[K]> | T[K] },
): Promise<T> {
  const settled = await Promise.allSettled(promises);
  const failed = settled.find((result) => result.status === "rejected");
  if (failed) throw failed.reason;
  return settled.map((result) => (result as PromiseFulfilledResult<unknown>).value) as unknown as T;
}
