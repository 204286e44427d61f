/**
 * The batch driver, in the stream dispatch consumer: it creates a batch's children and
 * carries out its cancel, one bounded step per stream record of the batch record, each
 * step moving a cursor on the record (whose own record drives the next step).
 *
 * ```
 * client: IN# chunks ─▶ #BATCH (createdCount 0) ──stream──▶ step: children 0..499, createdCount 500
 *                                              ──stream──▶ step: children 500..999, ...  (until total)
 * cancelBatch: #BATCH.cancelRequested ──stream──▶ step: cancel ordinals 0..499, cancelCursor 500 ─▶ ...
 * ```
 *
 * Durable and exactly-once: children have deterministic ids and are created with
 * `attribute_not_exists`, so a step handed over again (a failed stream batch, a crash)
 * creates nothing twice and skips nothing, and the cursor moves only conditionally on its
 * old value. Paced: one step creates at most {@link stepSize} children, {@link concurrency}
 * at a time, under a growing table's on-demand limits; their wake-ups come from the same
 * stream (`dispatch/wake-ups.ts`), batched 10 per `SendMessageBatch`.
 *
 * A batch canceled while it is being created gets its remaining children created Canceled
 * (every ordinal still gets its child, so counts reach the total). A child created Pending
 * by a step that read the record just before the cancel is canceled when claimed
 * (`batch-claim-check.ts`).
 */

import { PutCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import type { StreamRecords } from "../dispatch/wake-ups.js";
import { isTerminal } from "../domain/run.js";
import { forEachAtMost } from "../runs/for-each-at-most.js";
import { cancelRun } from "../runs/lifecycle.js";
import type { BatchRecord, InputChunkItem, StoredInput } from "../store/batch-record.js";
import { committed, isConditionFailed } from "../store/condition-failed.js";
import { batchChildRunId, batchInputSk, batchKey, batchPk, dedupKey } from "../store/keys.js";
import { readRuns } from "../store/listing.js";
import { newRunItem } from "../store/run-factory.js";
import { inlinePayloadBytes, type RunItem } from "../store/run-item.js";
import type { RunStore } from "../store/run-store.js";
import { transactWrite } from "../store/transact.js";
import { releasePlan } from "../timer/release-plan.js";
import type { RunTimer } from "../timer/timer-port.js";
import { readBatchRecord } from "./batch-creation.js";

/** Children created (or visited by the canceller) per step. */
export const stepSize = 500;
/** Writes in flight at once within a step. */
const concurrency = 32;

export interface BatchDriverOptions {
  readonly store: RunStore;
  /** Releases children due beyond its threshold; deletes a canceled child's timers. */
  readonly timer?: RunTimer;
  /** Clock, epoch ms. @default Date.now */
  readonly now?: () => number;
}

/** What a stream batch led to. */
export interface BatchDriverReport {
  created: number;
  canceled: number;
}

/** The batch record images of a stream record (`undefined` where absent or not a batch record). */
export function batchImages(record: StreamRecords["Records"][number]): {
  old?: BatchRecord;
  new?: BatchRecord;
} {
  const image = (raw: unknown) => {
    if (!raw) return undefined;
    const item = unmarshall(raw as never) as BatchRecord;
    return item.kind === "batch" ? item : undefined;
  };
  const old = image(record.dynamodb?.OldImage);
  const next = image(record.dynamodb?.NewImage);
  return { ...(old ? { old } : {}), ...(next ? { new: next } : {}) };
}

/** Builds the stream handler: one creation step and one cancel step per batch record change that asks for them. */
export function createBatchDriverHandler(options: BatchDriverOptions) {
  return async (event: StreamRecords): Promise<BatchDriverReport> => {
    const report: BatchDriverReport = { created: 0, canceled: 0 };
    for (const record of event.Records) {
      const { old, new: next } = batchImages(record);
      if (!next) continue;
      if (next.createdCount < next.total && old?.createdCount !== next.createdCount) {
        report.created += await creationStep(options, next.batchId, next.createdCount);
      }
      const cursor = next.cancelRequested === undefined ? undefined : (next.cancelCursor ?? 0);
      const moved = old?.cancelRequested === undefined || old.cancelCursor !== next.cancelCursor;
      if (cursor !== undefined && cursor < next.total && moved) {
        report.canceled += await cancelStep(options, next, cursor);
      }
    }
    return report;
  };
}

/** Creates the children from ordinal `from` on (at most a step), then moves the creation cursor. */
async function creationStep(options: BatchDriverOptions, batchId: string, from: number): Promise<number> {
  const { store } = options;
  // Read fresh: a step handed over again finds the cursor moved; a cancel since the record was written is seen.
  const batch = await readBatchRecord(store, batchId);
  if (!batch || batch.createdCount !== from) return 0;
  const inputs = await readInputs(store, batchId, from, stepSize);
  const to = from + inputs.length;
  let created = 0;
  await forEachAtMost(concurrency, ordinals(inputs, from), async ({ ordinal, input }) => {
    if (await createChild(options, batch, ordinal, input)) created++;
  });
  const now = (options.now ?? Date.now)();
  // A step handed over twice moves the cursor once.
  await committed(
    store.doc.send(
      new UpdateCommand({
        TableName: store.tableName,
        Key: batchKey(batchId),
        UpdateExpression: `SET createdCount = :to${to >= batch.total ? ", committedMs = :now" : ""}`,
        ConditionExpression: "createdCount = :from",
        ExpressionAttributeValues: {
          ":to": to,
          ":from": from,
          ...(to >= batch.total ? { ":now": now } : {}),
        },
      }),
    ),
  );
  return created;
}

async function* ordinals(inputs: readonly StoredInput[], from: number) {
  for (const [i, input] of inputs.entries()) yield { ordinal: from + i, input };
}

/** The inputs from ordinal `from` on, at most `limit` (whole chunks: steps start at chunk boundaries). */
async function readInputs(
  store: RunStore,
  batchId: string,
  from: number,
  limit: number,
): Promise<StoredInput[]> {
  const inputs: StoredInput[] = [];
  const chunks = store.query<InputChunkItem>({
    KeyConditionExpression: "pk = :pk AND sk BETWEEN :from AND :to",
    ExpressionAttributeValues: { ":pk": batchPk(batchId), ":from": batchInputSk(from), ":to": "IN#~" },
    ConsistentRead: true,
    Limit: 5,
  });
  for await (const chunk of chunks) {
    if (inputs.length > 0 && inputs.length + chunk.inputs.length > limit) return inputs;
    inputs.push(...chunk.inputs);
    if (inputs.length >= limit) return inputs;
  }
  return inputs;
}

/**
 * Creates the child at `ordinal` unless it exists. A child whose deduplication id another
 * run took since the batch was checked is created without it and canceled (the batch
 * keeps one child per ordinal); so is every child of a batch canceled meanwhile.
 * Returns whether this call created it.
 */
async function createChild(
  options: BatchDriverOptions,
  batch: BatchRecord,
  ordinal: number,
  input: StoredInput,
): Promise<boolean> {
  const { store } = options;
  const now = (options.now ?? Date.now)();
  const runId = batchChildRunId(batch.batchId, ordinal);
  const release = releasePlan(options.timer, input, now);
  const inline =
    input.argsJson === undefined || Buffer.byteLength(input.argsJson, "utf8") <= inlinePayloadBytes;
  const item = newRunItem(
    {
      runId,
      jobName: input.jobName,
      priority: input.priority,
      queue: input.queue,
      ...(input.queuePriority ? { queuePriority: input.queuePriority } : {}),
      ...(input.notBeforeMs !== undefined ? { notBeforeMs: input.notBeforeMs } : {}),
      ...(input.notAfterMs !== undefined ? { notAfterMs: input.notAfterMs } : {}),
      ...(input.deduplicationId !== undefined ? { deduplicationId: input.deduplicationId } : {}),
      ...(input.argsJson !== undefined ? (inline ? { argsJson: input.argsJson } : { argsRef: true }) : {}),
      ...(batch.parentRunId !== undefined
        ? { parentRunId: batch.parentRunId, parentAttempt: batch.parentAttempt as number }
        : {}),
      rootRunId: batch.rootRunId ?? runId,
      batchId: batch.batchId,
      batchOrdinal: ordinal,
      createdMs: now,
      ...release.fields,
    },
    release.path === "later",
  );
  if (!inline && input.argsJson !== undefined) await store.putPayload(runId, "ARGS", input.argsJson);
  const outcome = await putChild(store, item);
  if (outcome === "exists") return false;
  const reason =
    outcome === "conflict"
      ? `deduplication id "${input.deduplicationId}" was taken by another run before this child was created`
      : batch.cancelRequested;
  if (reason !== undefined) await cancelRun(store, item, reason, options.now ?? Date.now, options.timer);
  return true;
}

/** Puts a child (with its deduplication lock, in one transaction, when it has one). */
async function putChild(store: RunStore, item: RunItem): Promise<"created" | "exists" | "conflict"> {
  const put = { TableName: store.tableName, Item: item, ConditionExpression: "attribute_not_exists(pk)" };
  const dedup = item.deduplicationId;
  try {
    if (dedup === undefined) {
      await store.doc.send(new PutCommand(put));
      return "created";
    }
  } catch (error) {
    if (isConditionFailed(error)) return "exists";
    throw error;
  }
  const outcome = await transactWrite(store.doc, [
    { Put: put },
    {
      Put: {
        TableName: store.tableName,
        Item: { ...dedupKey(item.jobName, dedup), kind: "dedup", runId: item.runId },
        ConditionExpression: "attribute_not_exists(pk)",
      },
    },
  ]);
  if (outcome.ok) return "created";
  if (outcome.failedConditions.includes(0)) return "exists";
  const { deduplicationId: _taken, ...withoutDedup } = item;
  return (await putChild(store, withoutDedup)) === "exists" ? "exists" : "conflict";
}

/** Cancels the non-terminal children among the next step of ordinals, then moves the cancel cursor. */
async function cancelStep(options: BatchDriverOptions, batch: BatchRecord, from: number): Promise<number> {
  const { store } = options;
  const reason = batch.cancelRequested as string;
  const to = Math.min(batch.total, from + stepSize);
  const keys = (async function* () {
    for (let o = from; o < to; o++) yield { runId: batchChildRunId(batch.batchId, o), createdSk: "" };
  })();
  let canceled = 0;
  await forEachAtMost(concurrency, readRuns(store, keys), async (child) => {
    if (isTerminal(child.status)) return;
    if (await cancelRun(store, child, reason, options.now ?? Date.now, options.timer)) canceled++;
  });
  await committed(
    store.doc.send(
      new UpdateCommand({
        TableName: store.tableName,
        Key: batchKey(batch.batchId),
        UpdateExpression: "SET cancelCursor = :to",
        ConditionExpression: from === 0 ? "attribute_not_exists(cancelCursor)" : "cancelCursor = :from",
        ExpressionAttributeValues: { ":to": to, ...(from === 0 ? {} : { ":from": from }) },
      }),
    ),
  );
  return canceled;
}
