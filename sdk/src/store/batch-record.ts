/**
 * The items of one batch, all in the item collection `BATCH#<batchId>`:
 *
 * | sk | item | written by | one write costs |
 * |---|---|---|---|
 * | `#BATCH` | the record: total, creation cursor, cancel request and cursor, lineage | client (create, `cancelBatch`), stream dispatch (cursors) | 1 WU (under 1 KB) |
 * | `IN#<first ordinal>` | a chunk of inputs (up to 100, or about 32 KB of JSON) | client, once, `PutItem` each | 1 WU per KB: a few hundredths of a WU per small input |
 * | `CNT#<shard>` | counts per status of the children in the shard, and its event `seq` | stream dispatch (`batches/batch-counters.ts`) | 2 WU in a transaction, once per stream batch and shard |
 * | `EVT#<shard>#<seq>` | the child status changes one stream batch applied to the shard | same transaction | 2 WU per KB |
 *
 * Children are ordinary run items with deterministic ids (`<batchId>-<ordinal>`), so
 * creating one again is a failed condition, never a duplicate, and a batch's children
 * are read by ordinal without an index. A child is in `byJob` (as every run) but not in
 * `byParent`: the batch record is (so a parent's cascade finds its batches).
 */
import type { RunStatus } from "../domain/run.js";
import type { RunItem } from "./run-item.js";

/** Most items in one batch. */
export const maxBatchItems = 10_000;
/** Inputs per input chunk at most. */
export const inputsPerChunk = 100;
/** An input chunk is closed once its JSON passes this many bytes (one input may make it larger, up to the payload limit). */
export const chunkBytes = 32 * 1024;

/**
 * Counter shards of a batch of `total` children: one per 1,000 children, at most 16. A
 * counter is written once per stream batch that changes its children (never by the
 * children's own writes), so one item keeps up with about a thousand children; every
 * shard a stream batch touches costs its transaction 4 WU more (counter and event item).
 */
export function counterShards(total: number): number {
  return Math.min(16, Math.max(1, Math.ceil(total / 1000)));
}

/** The counters shard of the child at `ordinal`. */
export const shardOfOrdinal = (ordinal: number, shards: number) => ordinal % shards;

/** The batch record. Times are epoch ms. */
export interface BatchRecord {
  pk: string;
  sk: string;
  kind: "batch";
  batchId: string;
  total: number;
  /** Counter shards (see {@link counterShards}). */
  shards: number;
  /** Input chunks written before this record (creation reads them by `IN#` order). */
  chunks: number;
  /** Children created so far, in ordinal order: the creation cursor. Equal to `total` once committed. */
  createdCount: number;
  createdMs: number;
  /** When the last child was created. */
  committedMs?: number;
  deduplicationId?: string;
  parentRunId?: string;
  parentAttempt?: number;
  rootRunId?: string;
  /** Set by `cancelBatch` (or a parent's cascade): the reason given to each canceled child. */
  cancelRequested?: string;
  canceledMs?: number;
  /** Ordinals below this were visited by the canceller. */
  cancelCursor?: number;
  /** `byParent` index attributes of a batch created inside a job (set once). */
  parentPk?: string;
  createdSk?: string;
}

/** One input as stored: what its child run is created from. Already validated and resolved. */
export interface StoredInput {
  readonly jobName: string;
  readonly argsJson?: string;
  readonly priority: number;
  readonly queue: string;
  readonly queuePriority?: number;
  readonly notBeforeMs?: number;
  readonly notAfterMs?: number;
  readonly deduplicationId?: string;
}

/** A chunk of inputs. */
export interface InputChunkItem {
  pk: string;
  sk: string;
  kind: "batchInputs";
  first: number;
  inputs: StoredInput[];
}

/** Counts per status, as kept by the counter shards. */
export type BatchCounts = Record<RunStatus, number>;

/** One child status change in a batch's event log. */
export interface BatchEventEntry {
  /** Ordinal. */
  readonly o: number;
  readonly status: RunStatus;
  readonly attempt: number;
  /** When the change was committed, epoch ms. */
  readonly atMs: number;
}

/** A counters shard. */
export interface CounterItem extends Partial<BatchCounts> {
  pk: string;
  sk: string;
  kind: "batchCounter";
  shard: number;
  seq: number;
}

/** An event item: the status changes of one stream batch in one shard. */
export interface BatchEventItem {
  pk: string;
  sk: string;
  kind: "batchEvents";
  shard: number;
  seq: number;
  entries: BatchEventEntry[];
}

/** The batch of a run, when it is a child of one. */
export function batchOf(run: Pick<RunItem, "batchId" | "batchOrdinal">) {
  return run.batchId === undefined || run.batchOrdinal === undefined
    ? undefined
    : { batchId: run.batchId, ordinal: run.batchOrdinal };
}
