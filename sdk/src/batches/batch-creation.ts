/**
 * Creating a batch (the client's part): its inputs in chunks, then its record. The record
 * is written last, so a reader never finds a batch without its inputs; its insert in the
 * table's stream starts the creation of the children (`batch-driver.ts`), which goes on
 * whether or not the caller is still there.
 *
 * Writes: `ceil(inputs / 100)` chunk items (one `PutItem` each, 25 at a time; about 1 WU
 * per KB of inputs), one `PutItem` of the record (1 WU). A child deduplication id costs
 * one read of its lock before anything is written (`BatchGetItem`, 100 per request).
 */

import { createHash } from "node:crypto";
import { BatchGetCommand, GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import { ulid } from "ulid";
import { RunConflictError } from "../errors.js";
import {
  type BatchRecord,
  chunkBytes,
  counterShards,
  type InputChunkItem,
  inputsPerChunk,
  type StoredInput,
} from "../store/batch-record.js";
import { isConditionFailed } from "../store/condition-failed.js";
import {
  batchChildRunId,
  batchInputKey,
  batchKey,
  createdSk,
  dedupKey,
  parentPk,
  shardOf,
} from "../store/keys.js";
import type { RunStore } from "../store/run-store.js";
import { sleep } from "../store/transact.js";

/** Where a batch created inside a job sits in its run tree. */
export interface BatchLineage {
  readonly parentRunId: string;
  readonly parentAttempt: number;
  readonly rootRunId: string;
}

/** What {@link createBatch} is asked to create. */
export interface CreateBatchRequest {
  readonly inputs: readonly StoredInput[];
  /** The batch's idempotency key: the same id always names the same batch. */
  readonly deduplicationId?: string;
  readonly lineage?: BatchLineage;
  readonly nowMs: number;
}

/** The batch id a deduplication id names (26 characters, like a ULID). */
export function batchIdFor(deduplicationId: string): string {
  return createHash("sha256").update(`batch:${deduplicationId}`).digest("hex").slice(0, 26).toUpperCase();
}

/**
 * Creates the batch, or returns the existing one when its deduplication id was used
 * before (`existing: true`; the first call's inputs stand, and its creation goes on).
 * @throws {@link RunConflictError} an input's own deduplication id is held by a
 *   non-terminal run outside this batch (`batchIndex` names the input); nothing is written.
 */
export async function createBatch(
  store: RunStore,
  request: CreateBatchRequest,
): Promise<{ record: BatchRecord; existing: boolean }> {
  const batchId =
    request.deduplicationId !== undefined ? batchIdFor(request.deduplicationId) : ulid(request.nowMs);
  if (request.deduplicationId !== undefined) {
    const found = await readBatchRecord(store, batchId);
    if (found) return { record: found, existing: true };
  }
  await assertDedupFree(store, batchId, request.inputs);
  const chunks = chunkInputs(batchId, request.inputs);
  await putChunks(store, chunks);
  const record: BatchRecord = {
    ...batchKey(batchId),
    kind: "batch",
    batchId,
    total: request.inputs.length,
    shards: counterShards(request.inputs.length),
    chunks: chunks.length,
    createdCount: 0,
    createdMs: request.nowMs,
    ...(request.deduplicationId !== undefined ? { deduplicationId: request.deduplicationId } : {}),
    ...(request.lineage
      ? {
          ...request.lineage,
          // In the parent's `byParent` partition, so the parent's cascade finds the batch.
          parentPk: parentPk(request.lineage.parentRunId, shardOf(batchId)),
          createdSk: createdSk(new Date(request.nowMs).toISOString(), batchId),
        }
      : {}),
  };
  try {
    await store.doc.send(
      new PutCommand({
        TableName: store.tableName,
        Item: record,
        ConditionExpression: "attribute_not_exists(pk)",
      }),
    );
  } catch (error) {
    if (!isConditionFailed(error)) throw error;
    // A concurrent call with the same deduplication id wrote it first.
    const found = await readBatchRecord(store, batchId);
    if (!found) throw error;
    return { record: found, existing: true };
  }
  return { record, existing: false };
}

/** Reads a batch record (strongly consistent). */
export async function readBatchRecord(store: RunStore, batchId: string): Promise<BatchRecord | undefined> {
  const out = await store.doc.send(
    new GetCommand({ TableName: store.tableName, Key: batchKey(batchId), ConsistentRead: true }),
  );
  return out.Item as BatchRecord | undefined;
}

/** Inputs in chunks of at most {@link inputsPerChunk}, closed once past {@link chunkBytes} of JSON. */
function chunkInputs(batchId: string, inputs: readonly StoredInput[]): InputChunkItem[] {
  const chunks: InputChunkItem[] = [];
  let current: InputChunkItem | undefined;
  let bytes = 0;
  for (const [ordinal, input] of inputs.entries()) {
    if (!current || current.inputs.length >= inputsPerChunk || bytes >= chunkBytes) {
      current = { ...batchInputKey(batchId, ordinal), kind: "batchInputs", first: ordinal, inputs: [] };
      chunks.push(current);
      bytes = 0;
    }
    current.inputs.push(input);
    bytes += Buffer.byteLength(JSON.stringify(input), "utf8");
  }
  return chunks;
}

/** Most keys in one `BatchGetItem`. */
const readLimit = 100;
/** Chunk writes in flight at once. */
const writeConcurrency = 25;

/** Puts the chunks, {@link writeConcurrency} at a time (plain `PutItem`s: the client's grant has no `BatchWriteItem`). */
async function putChunks(store: RunStore, chunks: readonly InputChunkItem[]): Promise<void> {
  for (let i = 0; i < chunks.length; i += writeConcurrency) {
    await Promise.all(
      chunks
        .slice(i, i + writeConcurrency)
        .map((Item) => store.doc.send(new PutCommand({ TableName: store.tableName, Item }))),
    );
  }
}

/** Throws {@link RunConflictError} for the first input whose deduplication id is held outside this batch. */
async function assertDedupFree(
  store: RunStore,
  batchId: string,
  inputs: readonly StoredInput[],
): Promise<void> {
  const wanted = inputs.flatMap((input, index) =>
    input.deduplicationId === undefined
      ? []
      : [{ index, key: dedupKey(input.jobName, input.deduplicationId) }],
  );
  for (let i = 0; i < wanted.length; i += readLimit) {
    const part = wanted.slice(i, i + readLimit);
    let keys: Record<string, unknown>[] = part.map((w) => w.key);
    const held = new Map<string, string>();
    for (let round = 0; keys.length > 0; round++) {
      if (round > 0) await sleep(Math.random() * Math.min(1000, 50 * 2 ** round));
      const out = await store.doc.send(
        new BatchGetCommand({ RequestItems: { [store.tableName]: { Keys: keys, ConsistentRead: true } } }),
      );
      for (const lock of out.Responses?.[store.tableName] ?? [])
        held.set(String(lock.pk), String(lock.runId));
      keys = (out.UnprocessedKeys?.[store.tableName]?.Keys ?? []) as Record<string, unknown>[];
    }
    for (const { index, key } of part) {
      const holder = held.get(key.pk);
      if (holder !== undefined && holder !== batchChildRunId(batchId, index)) {
        const input = inputs[index] as StoredInput;
        throw new RunConflictError(input.jobName, input.deduplicationId as string, holder, index);
      }
    }
  }
}
