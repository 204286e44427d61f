/**
 * The local stand-in for a Lambda event source mapping on the table's DynamoDB stream:
 * polls DynamoDB Local's stream (same API as DynamoDB Streams) and hands each batch of
 * records to a handler in the Lambda event's shape. Starts at the stream's current end
 * (LATEST), follows new shards as they appear, and never calls the handler concurrently
 * for one shard, so records of one item stay in order.
 */
import { DescribeTableCommand, type DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  DescribeStreamCommand,
  type DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
} from "@aws-sdk/client-dynamodb-streams";
import type { StreamRecords } from "../sdk/src/realtime/fanout.js";

export interface StreamsPoller {
  stop(): Promise<void>;
}

export async function startStreamsPoller(
  dynamodb: DynamoDBClient,
  streams: DynamoDBStreamsClient,
  tableName: string,
  handler: (event: StreamRecords) => Promise<unknown>,
  options: { intervalMs?: number; onError?: (error: unknown) => void } = {},
): Promise<StreamsPoller> {
  const table = await dynamodb.send(new DescribeTableCommand({ TableName: tableName }));
  const streamArn = table.Table?.LatestStreamArn;
  if (!streamArn) throw new Error(`table ${tableName} has no stream`);
  const iterators = new Map<string, string | undefined>();
  const interval = options.intervalMs ?? 100;
  let stopped = false;
  let firstRound = true;

  const discoverShards = async () => {
    const out = await streams.send(new DescribeStreamCommand({ StreamArn: streamArn }));
    for (const shard of out.StreamDescription?.Shards ?? []) {
      const id = shard.ShardId;
      if (!id || iterators.has(id)) continue;
      // Shards open when we start: from now on. Shards that appear later: from their start.
      const type = firstRound && !shard.SequenceNumberRange?.EndingSequenceNumber ? "LATEST" : "TRIM_HORIZON";
      if (firstRound && shard.SequenceNumberRange?.EndingSequenceNumber) {
        iterators.set(id, undefined);
        continue;
      }
      const it = await streams.send(
        new GetShardIteratorCommand({ StreamArn: streamArn, ShardId: id, ShardIteratorType: type }),
      );
      iterators.set(id, it.ShardIterator);
    }
    firstRound = false;
  };

  const loop = (async () => {
    let round = 0;
    while (!stopped) {
      try {
        if (round++ % 20 === 0) await discoverShards();
        for (const [shardId, iterator] of iterators) {
          if (!iterator) continue;
          const out = await streams.send(new GetRecordsCommand({ ShardIterator: iterator }));
          iterators.set(shardId, out.NextShardIterator);
          if (out.Records && out.Records.length > 0)
            await handler({ Records: out.Records as StreamRecords["Records"] });
        }
      } catch (error) {
        if (!stopped) (options.onError ?? ((e) => console.error("stream poll failed:", e)))(error);
      }
      await new Promise((r) => setTimeout(r, interval));
    }
  })();

  return {
    async stop() {
      stopped = true;
      await loop;
    },
  };
}
