/**
 * Listing runs through the sharded `KEYS_ONLY` indexes: each listing key (`JOB#<name>`,
 * `PARENT#<id>`) is split over {@link listingShards} partitions, so the shards are queried
 * together and merged by creation time; the run items are then read in batches of 100
 * (`BatchGetItem`), because the index holds keys only.
 */
import { BatchGetCommand } from "@aws-sdk/lib-dynamodb";
import { allShards, batchPk, parentPk, runKey } from "./keys.js";
import { mergeSorted } from "./merge-sorted.js";
import type { RunItem } from "./run-item.js";
import type { RunStore } from "./run-store.js";
import { IndexName } from "./table-definition.js";

const batchPkPrefix = batchPk("");

/** An index entry of a run: its id and its creation sort key. */
export interface ListedKey {
  readonly runId: string;
  readonly createdSk: string;
}

/** One sharded listing: an index, its partition key per shard, and an optional creation range. */
export interface ShardedListing {
  readonly indexName: string;
  readonly partitionAttribute: string;
  readonly partitionKeys: readonly string[];
  /** Key condition on `createdSk`, e.g. `createdSk >= :after`, with its values. */
  readonly range?: { readonly expression: string; readonly values: Record<string, string> };
  /** Oldest first instead of newest first. */
  readonly ascending?: boolean;
  /** Items per DynamoDB page. @default 100 */
  readonly pageSize?: number;
  /** Called with the id of each batch record met (they share `byParent` with child runs). @default ignored */
  readonly onBatch?: (batchId: string) => void;
}

/** The keys of every run in the listing, merged over its shards in creation order. */
export function listKeys(store: RunStore, listing: ShardedListing): AsyncIterable<ListedKey> {
  const sources = listing.partitionKeys.map((pk) =>
    store.query<{ pk: string; createdSk: string }>({
      IndexName: listing.indexName,
      KeyConditionExpression: `${listing.partitionAttribute} = :key${listing.range ? ` AND ${listing.range.expression}` : ""}`,
      ExpressionAttributeValues: { ...listing.range?.values, ":key": pk },
      ScanIndexForward: listing.ascending === true,
      Limit: listing.pageSize ?? 100,
    }),
  );
  const merged = mergeSorted(sources, (item) => item.createdSk, listing.ascending === true);
  return (async function* () {
    for await (const item of merged) {
      // `byParent` also holds batch records (a batch created inside a job): not runs.
      if (item.pk.startsWith(batchPkPrefix)) listing.onBatch?.(item.pk.slice(batchPkPrefix.length));
      else yield { runId: item.pk.slice("RUN#".length), createdSk: item.createdSk };
    }
  })();
}

/** Most keys in one `BatchGetItem` (DynamoDB's limit). */
const batchGetLimit = 100;

/**
 * Reads the run items of `keys` in their order, 100 per `BatchGetItem` (eventually
 * consistent: half the read units; a listing is a snapshot of the past anyway). Runs
 * deleted meanwhile (TTL) are skipped.
 */
export async function* readRuns(store: RunStore, keys: AsyncIterable<ListedKey>): AsyncIterable<RunItem> {
  let batch: ListedKey[] = [];
  const flush = async function* () {
    const found = await batchGet(
      store,
      batch.map((k) => k.runId),
    );
    for (const key of batch) {
      const run = found.get(key.runId);
      if (run) yield run;
    }
    batch = [];
  };
  for await (const key of keys) {
    batch.push(key);
    if (batch.length >= batchGetLimit) yield* flush();
  }
  if (batch.length > 0) yield* flush();
}

async function batchGet(store: RunStore, runIds: string[]): Promise<Map<string, RunItem>> {
  const found = new Map<string, RunItem>();
  let keys: Record<string, unknown>[] = runIds.map(runKey);
  for (let round = 0; keys.length > 0; round++) {
    const out = await store.doc.send(
      new BatchGetCommand({ RequestItems: { [store.tableName]: { Keys: keys } } }),
    );
    for (const item of out.Responses?.[store.tableName] ?? [])
      found.set((item as RunItem).runId, item as RunItem);
    keys = (out.UnprocessedKeys?.[store.tableName]?.Keys ?? []) as Record<string, unknown>[];
    if (keys.length > 0)
      await new Promise((r) => setTimeout(r, Math.random() * Math.min(1000, 50 * 2 ** round)));
  }
  return found;
}

/**
 * A run's direct children, oldest first: the `byParent` shards merged, the items read 100
 * at a time (eventually consistent). Batches it created are passed to `onBatch`.
 */
export function childRuns(
  store: RunStore,
  runId: string,
  onBatch?: (batchId: string) => void,
): AsyncIterable<RunItem> {
  return readRuns(
    store,
    listKeys(store, {
      indexName: IndexName.byParent,
      partitionAttribute: "parentPk",
      partitionKeys: allShards.map((shard) => parentPk(runId, shard)),
      ascending: true,
      ...(onBatch ? { onBatch } : {}),
    }),
  );
}
