/**
 * A job system for benchmarks: fresh emulators, one table and its lanes, and every
 * component with its own AWS SDK clients (client, worker, stream consumers, maintenance),
 * so what each one costs can be recorded apart (`CapacityRecorder`, `RequestCounter`).
 * Settings are the defaults a deployment gets, unless a bench says otherwise.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SQSClient } from "@aws-sdk/client-sqs";
import { localClientConfig } from "../../local/aws-clients.js";
import { startDynamoDbLocal } from "../../local/dynamodb-local.js";
import { startLocalTimer } from "../../local/local-timer.js";
import { createLanes, createTable } from "../../local/provision.js";
import { startSqsLocal } from "../../local/sqs-local.js";
import { startStreamConsumers } from "../../local/stream-consumers.js";
import { connect, type JobSystem, registerJobs } from "../../sdk/src/connect.js";
import type { JobApp } from "../../sdk/src/jobs/job-app.js";
import { CapacityRecorder } from "../../sdk/src/metrics/capacity-recorder.js";
import { RequestCounter } from "../../sdk/src/metrics/request-counter.js";
import { PollingWorker, type PollingWorkerOptions } from "../../sdk/src/worker/polling-worker.js";

/** The components whose requests are recorded apart. */
export type Component = "client" | "worker" | "stream" | "maintenance";

export interface BenchSystemOptions {
  readonly app: JobApp;
  readonly workers?: number;
  readonly concurrency?: number;
  readonly worker?: Partial<PollingWorkerOptions>;
  /** Start the maintenance loop (every `maintenanceIntervalMs`). @default true */
  readonly maintenance?: boolean;
  /** @default 60000, as the maintenance schedule on AWS */
  readonly maintenanceIntervalMs?: number;
  /** The projections consumer's read interval (its mapping's batching window on AWS). @default 10000 */
  readonly projectionsIntervalMs?: number;
}

export interface BenchSystem {
  readonly dynamoDbEndpoint: string;
  readonly sqsEndpoint: string;
  readonly tableName: string;
  readonly laneUrls: Record<string, string>;
  /** The client component's system (triggers and waits). */
  readonly client: JobSystem;
  readonly workers: PollingWorker[];
  readonly capacity: CapacityRecorder;
  readonly requests: RequestCounter;
  stop(): Promise<void>;
}

export async function startBenchSystem(options: BenchSystemOptions): Promise<BenchSystem> {
  const [dynamo, sqsLocal] = await Promise.all([startDynamoDbLocal({}), startSqsLocal({})]);
  const capacity = new CapacityRecorder();
  const requests = new RequestCounter();
  const clients = new Map<Component, { dynamodb: DynamoDBClient; sqs: SQSClient }>();
  const clientsOf = (component: Component) => {
    const dynamodb = new DynamoDBClient(localClientConfig(dynamo.endpoint));
    const sqs = new SQSClient(localClientConfig(sqsLocal.endpoint));
    capacity.attach(dynamodb, component);
    requests.attach(dynamodb, `${component}.DynamoDB`);
    requests.attach(sqs, `${component}.SQS`);
    clients.set(component, { dynamodb, sqs });
    return { dynamodb, sqs };
  };
  const tableName = "jobs";
  const provisioning = clientsOf("maintenance");
  const [{ laneUrls, deadLetterUrls }] = await Promise.all([
    createLanes(provisioning.sqs, "jobs-"),
    createTable(provisioning.dynamodb, tableName),
  ]);
  const systemOf = (component: Component) =>
    connect({ ...clientsOf(component), tableName, laneUrls, deadLetterUrls, app: options.app });
  const client = systemOf("client");
  const worker = systemOf("worker");
  const stream = systemOf("stream");
  const maintenance = connect({ ...provisioning, tableName, laneUrls, deadLetterUrls, app: options.app });
  await registerJobs(maintenance, options.app);
  const workers = Array.from({ length: options.workers ?? 1 }, () =>
    new PollingWorker({
      app: options.app,
      store: worker.store,
      dispatcher: worker.dispatcher,
      client: worker.client,
      concurrency: options.concurrency ?? 8,
      shutdownGraceMs: 1_000,
      ...options.worker,
    }).start(),
  );
  const consumers = await startStreamConsumers({
    dynamodb: clients.get("stream")?.dynamodb as DynamoDBClient,
    dynamoDbEndpoint: dynamo.endpoint,
    store: stream.store,
    dispatcher: stream.dispatcher,
    projectionsIntervalMs: options.projectionsIntervalMs ?? 10_000,
  });
  const timer =
    options.maintenance === false
      ? undefined
      : startLocalTimer({
          store: maintenance.store,
          dispatcher: maintenance.dispatcher,
          app: options.app,
          intervalMs: options.maintenanceIntervalMs ?? 60_000,
        });
  return {
    dynamoDbEndpoint: dynamo.endpoint,
    sqsEndpoint: sqsLocal.endpoint,
    tableName,
    laneUrls,
    client,
    workers,
    capacity,
    requests,
    async stop() {
      await Promise.all(workers.map((w) => w.stop()));
      await timer?.stop();
      await consumers.stop();
      for (const { dynamodb, sqs } of clients.values()) {
        dynamodb.destroy();
        sqs.destroy();
      }
      await Promise.all([dynamo.stop(), sqsLocal.stop()]);
    },
  };
}
