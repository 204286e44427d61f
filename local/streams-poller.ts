/**
 * The local stand-in for a Lambda event source mapping on the table's DynamoDB stream:
 * polls DynamoDB Local's stream (same API as DynamoDB Streams) and hands each batch of
 * records to a handler in the Lambda event's shape, one shard at a time, so records of
 * one item stay in order.
 *
 * As on AWS, a batch whose handler throws is handed over again (after `retryDelayMs`)
 * until it succeeds: never skipped. Every shard is read from its start (`TRIM_HORIZON`),
 * like a mapping created with the table; with a `positionFile`, the position reached in
 * each shard is stored after each successful batch, and a restart resumes after it (what
 * was written while the process was down is handled then).
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { DescribeTableCommand, type DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  type _Record,
  DescribeStreamCommand,
  type DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
} from "@aws-sdk/client-dynamodb-streams";
import type { StreamRecords } from "../sdk/src/dispatch/wake-ups.js";

export interface StreamsPoller {
  stop(): Promise<void>;
}

export interface StreamsPollerOptions {
  /** Pause between polls of a shard, in ms (a Lambda mapping's batching window, roughly). @default 100 */
  readonly intervalMs?: number;
  /** Pause before a failed batch is handed over again, in ms. @default 500 */
  readonly retryDelayMs?: number;
  /** JSON file keeping the last sequence number handled per shard. @default none: every shard is read from its start */
  readonly positionFile?: string;
  readonly onError?: (error: unknown) => void;
}

type Positions = Record<string, string>;

function readPositions(file: string | undefined): Positions {
  if (!file || !existsSync(file)) return {};
  try {
    return JSON.parse(readFileSync(file, "utf8")) as Positions;
  } catch {
    return {};
  }
}

function writePositions(file: string, positions: Positions): void {
  mkdirSync(dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, JSON.stringify(positions));
  renameSync(temporary, file);
}

export async function startStreamsPoller(
  dynamodb: DynamoDBClient,
  streams: DynamoDBStreamsClient,
  tableName: string,
  handler: (event: StreamRecords) => Promise<unknown>,
  options: StreamsPollerOptions = {},
): Promise<StreamsPoller> {
  const table = await dynamodb.send(new DescribeTableCommand({ TableName: tableName }));
  const streamArn = table.Table?.LatestStreamArn;
  if (!streamArn) throw new Error(`table ${tableName} has no stream`);
  const positions = readPositions(options.positionFile);
  const iterators = new Map<string, string | undefined>();
  const interval = options.intervalMs ?? 100;
  const report = options.onError ?? ((e: unknown) => console.error("stream poll failed:", e));
  let stopped = false;
  let wake: () => void = () => undefined;

  const iteratorFor = async (shardId: string): Promise<string | undefined> => {
    const after = positions[shardId];
    if (after) {
      try {
        const it = await streams.send(
          new GetShardIteratorCommand({
            StreamArn: streamArn,
            ShardId: shardId,
            ShardIteratorType: "AFTER_SEQUENCE_NUMBER",
            SequenceNumber: after,
          }),
        );
        return it.ShardIterator;
      } catch {
        // The stored position is gone (trimmed): read the shard from its start.
      }
    }
    const it = await streams.send(
      new GetShardIteratorCommand({
        StreamArn: streamArn,
        ShardId: shardId,
        ShardIteratorType: "TRIM_HORIZON",
      }),
    );
    return it.ShardIterator;
  };

  const discoverShards = async () => {
    const out = await streams.send(new DescribeStreamCommand({ StreamArn: streamArn }));
    for (const shard of out.StreamDescription?.Shards ?? []) {
      const id = shard.ShardId;
      if (!id || iterators.has(id)) continue;
      iterators.set(id, await iteratorFor(id));
    }
  };

  /** Hands the batch over until it succeeds (or the poller stops). */
  const deliver = async (records: _Record[]): Promise<boolean> => {
    for (;;) {
      try {
        await handler({ Records: records as StreamRecords["Records"] });
        return true;
      } catch (error) {
        if (stopped) return false;
        report(error);
        await new Promise((r) => setTimeout(r, options.retryDelayMs ?? 500));
      }
    }
  };

  const loop = (async () => {
    let round = 0;
    while (!stopped) {
      try {
        // New shards appear as old ones close (DynamoDB rotates them): look often.
        if (round++ % 5 === 0) await discoverShards();
        for (const [shardId, iterator] of iterators) {
          if (!iterator) continue;
          const out = await streams.send(new GetRecordsCommand({ ShardIterator: iterator }));
          const records = out.Records ?? [];
          if (records.length > 0) {
            if (!(await deliver(records))) return;
            const last = records.at(-1)?.dynamodb?.SequenceNumber;
            if (last && options.positionFile) {
              positions[shardId] = last;
              writePositions(options.positionFile, positions);
            }
          }
          iterators.set(shardId, out.NextShardIterator);
          if (!out.NextShardIterator) round = 0; // the shard closed: its successor is new
        }
      } catch (error) {
        if (!stopped) report(error);
      }
      if (stopped) break;
      await new Promise<void>((resolve) => {
        const timeout = setTimeout(resolve, interval);
        wake = () => {
          clearTimeout(timeout);
          resolve();
        };
      });
    }
  })();

  return {
    async stop() {
      stopped = true;
      wake();
      await loop;
    },
  };
}
