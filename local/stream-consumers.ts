/**
 * The two consumers of the table's stream, as the CDK construct deploys them (two event
 * source mappings), run locally by two stream pollers: the dispatch consumer (wake-ups,
 * then waiters woken by freed slots, then the WebSocket fanout when given, then the cascade cancel, then batches) every 100 ms, and the projections consumer (run
 * counts) every `projectionsIntervalMs`, which stands in for its mapping's batching window.
 */
import { join } from "node:path";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBStreamsClient } from "@aws-sdk/client-dynamodb-streams";
import { createBatchStreamHandler } from "../sdk/src/batches/batch-stream.js";
import { createWakeUpHandler, type StreamRecords } from "../sdk/src/dispatch/wake-ups.js";
import { createSlotReleaseHandler } from "../sdk/src/limits/slot-release-wake-ups.js";
import { createRunCountsHandler } from "../sdk/src/projections/run-counts.js";
import type { Dispatcher } from "../sdk/src/queue/dispatcher.js";
import { createCascadeCancelHandler } from "../sdk/src/runs/cascade-cancel.js";
import type { RunStore } from "../sdk/src/store/run-store.js";
import type { RunTimer } from "../sdk/src/timer/timer-port.js";
import { localClientConfig } from "./aws-clients.js";
import { startStreamsPoller } from "./streams-poller.js";

export interface StreamConsumersOptions {
  readonly dynamodb: DynamoDBClient;
  /** DynamoDB Local's endpoint (its streams API is served there too). */
  readonly dynamoDbEndpoint: string;
  readonly store: RunStore;
  readonly dispatcher: Dispatcher;
  readonly timer?: RunTimer;
  /** Runs after the wake-ups of each batch (the WebSocket fanout). */
  readonly fanout?: (event: StreamRecords) => Promise<unknown>;
  /** Keep each consumer's stream position in this folder, so a restart resumes where it stopped. @default none: read every shard from its start */
  readonly dataDir?: string;
  /** How often the projections consumer reads the stream, in ms. @default 10000 */
  readonly projectionsIntervalMs?: number;
  readonly onError?: (error: unknown) => void;
}

export interface StreamConsumers {
  stop(): Promise<void>;
}

export async function startStreamConsumers(options: StreamConsumersOptions): Promise<StreamConsumers> {
  const streams = new DynamoDBStreamsClient(localClientConfig(options.dynamoDbEndpoint));
  const tableName = options.store.tableName;
  const wakeUps = createWakeUpHandler({
    dispatcher: options.dispatcher,
    ...(options.timer ? { timer: options.timer } : {}),
  });
  const slotReleases = createSlotReleaseHandler({ store: options.store, dispatcher: options.dispatcher });
  const cascade = createCascadeCancelHandler({
    store: options.store,
    ...(options.timer ? { timer: options.timer } : {}),
  });
  const batches = createBatchStreamHandler({
    store: options.store,
    ...(options.timer ? { timer: options.timer } : {}),
  });
  const positionFile = (name: string) =>
    options.dataDir ? { positionFile: join(options.dataDir, `stream-${tableName}-${name}.json`) } : {};
  const onError = options.onError ? { onError: options.onError } : {};
  const pollers = await Promise.all([
    startStreamsPoller(
      options.dynamodb,
      streams,
      tableName,
      async (event) => {
        await wakeUps(event);
        await slotReleases(event);
        await options.fanout?.(event);
        await cascade(event);
        await batches(event);
      },
      { intervalMs: 100, ...positionFile("dispatch"), ...onError },
    ),
    startStreamsPoller(options.dynamodb, streams, tableName, createRunCountsHandler(options.store), {
      intervalMs: options.projectionsIntervalMs ?? 10_000,
      ...positionFile("projections"),
      ...onError,
    }),
  ]);
  return {
    async stop() {
      await Promise.all(pollers.map((p) => p.stop()));
      streams.destroy();
    },
  };
}
