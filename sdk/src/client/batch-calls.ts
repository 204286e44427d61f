/**
 * The client's batch calls (`JobClient` delegates to this): create, observe, own, cancel.
 *
 * Every observer reads the batch's progress (record and counters, one `Query`) and its
 * event log, never each child: a child is read once, when its terminal event arrives,
 * 100 per `BatchGetItem`.
 */

import { requestBatchCancel } from "../batches/batch-cancel.js";
import { type BatchLineage, createBatch, readBatchRecord } from "../batches/batch-creation.js";
import {
  type BatchEvent,
  type BatchProgress,
  isComplete,
  parseCursor,
  readBatchEvents,
  readBatchProgress,
  readUpTo,
} from "../batches/batch-events.js";
import { assertKnownKeys } from "../domain/known-keys.js";
import type { JobRun } from "../domain/run.js";
import type { RunOptions, SignalOptions } from "../domain/run-options.js";
import { BatchNotFoundError, JobRunError, ValidationError } from "../errors.js";
import { openBatchDoorbell } from "../realtime/batch-doorbell.js";
import type { WebSocketOptions } from "../realtime/socket-observer.js";
import type { BatchCounts, BatchRecord } from "../store/batch-record.js";
import { batchChildRunId } from "../store/keys.js";
import { readRuns } from "../store/listing.js";
import type { RunItem } from "../store/run-item.js";
import type { RunStore } from "../store/run-store.js";
import { onAbort } from "./abort-listeners.js";
import { abortableSleep, adaptiveDelays } from "./abortable-sleep.js";
import { type BatchItem, type BatchJobRef, type JobResolver, resolveBatchInputs } from "./batch-inputs.js";

/**
 * Options of a batch as a whole (each child's own options are in its item).
 * @example
 * ```ts
 * await client.triggerBatch("ProcessOrder", orders, { deduplicationId: "orders-2026-12-03", childOptions: { priority: 5 } });
 * ```
 */
export interface BatchOptions {
  /**
   * The batch's idempotency key: a repeat call with the same id returns the existing
   * batch (with the first call's inputs) and its creation goes on; nothing is created
   * twice. Kept for the batch's lifetime. 1..256 characters.
   */
  readonly deduplicationId?: string;
  /**
   * Run options for every child (`notBefore`, `notAfter`, `priority`; a deduplication id
   * is per child, so it is refused here). In the items form, an item's own `options`
   * override these key by key.
   */
  readonly childOptions?: Omit<RunOptions, "deduplicationId">;
}

/** Options of `runBatch` and `streamBatch`: batch options plus the owner's signal (aborting it cancels the batch). */
export type BatchCallOptions = BatchOptions & SignalOptions;

/**
 * A batch as `triggerBatch` returns it.
 * @example
 * ```ts
 * const batch = await client.triggerBatch("ProcessOrder", orders);
 * for await (const runId of batch.runIds()) console.log(runId); // "<batchId>-00000", ...
 * ```
 */
export interface BatchHandle {
  readonly batchId: string;
  /** Children (one per input). */
  readonly total: number;
  /** The batch existed already (same deduplication id): this call created nothing. */
  readonly existing: boolean;
  /** The id of the child at `ordinal` (ids are known before the children are created). */
  childRunId(ordinal: number): string;
  /** The child run ids in commit order, each once its child is created. */
  runIds(options?: SignalOptions): AsyncIterable<string>;
}

/** How a batch stands. `Creating`: not every child exists yet; `Completed`: every child is terminal. */
export type BatchStatus = "Creating" | "Running" | "Completed";

/**
 * A snapshot of a batch. Times are ISO 8601 strings in UTC.
 * @example
 * ```ts
 * const { status, counts, total } = await client.getBatch(batchId); // "Running", { Succeeded: 120, ... }, 1000
 * ```
 */
export interface JobBatch {
  readonly batchId: string;
  readonly status: BatchStatus;
  readonly total: number;
  /** Children created so far (commit order: ordinals below this exist). */
  readonly created: number;
  /** Children per status, as the counters stood (up to a stream batch behind the children). */
  readonly counts: BatchCounts;
  /** Why the batch was canceled, when `cancelBatch` (or its parent's end) canceled it. */
  readonly cancelReason?: string;
  readonly deduplicationId?: string;
  readonly parentRunId?: string;
  readonly createdAt: string;
}

/** What the batch calls need from their client. */
export interface BatchCallsDeps {
  readonly store: RunStore;
  readonly resolveJob: JobResolver;
  readonly lineage?: BatchLineage & { readonly signal?: AbortSignal };
  /** The parent's spawn mark, written before its first batch (so its cascade looks for it). */
  readonly markSpawned: () => Promise<void>;
  /** A child's public snapshot (reads its result payload when it has one). */
  readonly snapshot: (item: RunItem) => Promise<JobRun>;
  readonly maxPollIntervalMs: number;
  /** Observe over the WebSocket API: a frame per commit of the batch's events wakes the reader. */
  readonly webSocket?: WebSocketOptions;
  readonly now: () => number;
}

/** Calls that accept both forms: one job over many inputs, or a list of items. */
export type BatchInputs =
  | [job: BatchJobRef, inputs: readonly unknown[], options?: BatchCallOptions]
  | [items: readonly BatchItem[], options?: BatchCallOptions];

export class BatchCalls {
  readonly #deps: BatchCallsDeps;
  constructor(deps: BatchCallsDeps) {
    this.#deps = deps;
  }

  async trigger(...form: BatchInputs): Promise<BatchHandle> {
    const { items, options } = itemsOf(form);
    const { store, now } = this.#deps;
    if (options !== undefined)
      assertKnownKeys(options, ["deduplicationId", "childOptions", "signal"], "options");
    const dedup = options?.deduplicationId;
    if (dedup !== undefined && (typeof dedup !== "string" || dedup.length < 1 || dedup.length > 256)) {
      throw new ValidationError(
        "options.deduplicationId",
        `${JSON.stringify(dedup)} is not 1..256 characters`,
      );
    }
    const inputs = await resolveBatchInputs(items, this.#deps.resolveJob, now());
    const lineage = this.#deps.lineage;
    if (lineage) await this.#deps.markSpawned();
    const { record, existing } = await createBatch(store, {
      inputs,
      ...(dedup !== undefined ? { deduplicationId: dedup } : {}),
      ...(lineage
        ? {
            lineage: {
              parentRunId: lineage.parentRunId,
              parentAttempt: lineage.parentAttempt,
              rootRunId: lineage.rootRunId,
            },
          }
        : {}),
      nowMs: now(),
    });
    return this.#handle(record, existing);
  }

  #handle(record: BatchRecord, existing: boolean): BatchHandle {
    const { batchId, total } = record;
    const deps = this.#deps;
    return {
      batchId,
      total,
      existing,
      childRunId: (ordinal) => batchChildRunId(batchId, ordinal),
      async *runIds(options: SignalOptions = {}) {
        const delays = adaptiveDelays(deps.maxPollIntervalMs);
        for (let next = 0; next < total; ) {
          const created = (await readBatchRecord(deps.store, batchId))?.createdCount ?? 0;
          if (created === next) await abortableSleep(delays.next().value, options.signal);
          for (; next < created; next++) yield batchChildRunId(batchId, next);
        }
      },
    };
  }

  async get(batchId: string): Promise<JobBatch> {
    const progress = await readBatchProgress(this.#deps.store, batchId);
    if (!progress) throw new BatchNotFoundError(batchId);
    return snapshotOf(progress);
  }

  async wait(batchId: string, signal?: AbortSignal): Promise<JobBatch> {
    const delays = adaptiveDelays(this.#deps.maxPollIntervalMs);
    for (;;) {
      const progress = await readBatchProgress(this.#deps.store, batchId);
      if (!progress) throw new BatchNotFoundError(batchId);
      if (isComplete(progress)) return snapshotOf(progress);
      await abortableSleep(delays.next().value, signal);
    }
  }

  /** The batch's events after `sinceEventId`, one array per read, until every child is terminal and read. */
  async *#eventReads(batchId: string, sinceEventId: string | undefined, signal?: AbortSignal) {
    const { store, maxPollIntervalMs, webSocket } = this.#deps;
    let delays = adaptiveDelays(maxPollIntervalMs);
    let cursor: ReturnType<typeof parseCursor> | undefined;
    // Subscribed before the first read: every event committed after it rings the doorbell.
    const doorbell = webSocket
      ? await openBatchDoorbell(webSocket, batchId, signal).catch(() => undefined)
      : undefined;
    try {
      for (;;) {
        const progress = await readBatchProgress(store, batchId);
        if (!progress) throw new BatchNotFoundError(batchId);
        cursor ??= parseCursor(sinceEventId, batchId, progress.record.shards);
        const events: BatchEvent[] = [];
        for await (const event of readBatchEvents(store, batchId, cursor, progress.seqs)) events.push(event);
        if (events.length > 0) {
          yield events;
          delays = adaptiveDelays(maxPollIntervalMs);
        }
        if (isComplete(progress) && readUpTo(cursor, progress.seqs)) return;
        if (events.length > 0) continue;
        if (doorbell) await doorbell.wait(delays.next().value);
        else await abortableSleep(delays.next().value, signal);
      }
    } finally {
      doorbell?.close();
    }
  }

  async *observe(batchId: string, sinceEventId: string | undefined, signal?: AbortSignal) {
    for await (const events of this.#eventReads(batchId, sinceEventId, signal)) yield* events;
  }

  /** Each child once, as it reaches a terminal status (read once, in groups of up to 100). */
  async *waitEach(batchId: string, signal?: AbortSignal): AsyncIterable<JobRun> {
    const { store, snapshot } = this.#deps;
    for await (const events of this.#eventReads(batchId, undefined, signal)) {
      const ended = events.filter(
        (e) => e.status === "Succeeded" || e.status === "Failed" || e.status === "Canceled",
      );
      const keys = (async function* () {
        for (const e of ended) yield { runId: e.runId, createdSk: "" };
      })();
      for await (const item of readRuns(store, keys)) yield snapshot(item);
    }
  }

  async run<T>(...form: BatchInputs): Promise<T[]> {
    const { options } = itemsOf(form);
    const signal = options?.signal ?? this.#deps.lineage?.signal;
    signal?.throwIfAborted();
    const handle = await this.trigger(...form);
    const release = this.#cancelOnAbort(handle.batchId, signal);
    try {
      const results: T[] = new Array(handle.total);
      const failed: { ordinal: number; error: JobRunError }[] = [];
      for await (const child of this.waitEach(handle.batchId, signal)) {
        const ordinal = child.batchOrdinal as number;
        if (child.status === "Succeeded") results[ordinal] = child.result as T;
        else failed.push({ ordinal, error: new JobRunError(child) });
      }
      if (failed.length > 0) {
        failed.sort((a, b) => a.ordinal - b.ordinal);
        throw new AggregateError(
          failed.map((f) => f.error),
          `${failed.length} of ${handle.total} children of batch ${handle.batchId} failed or were canceled (first: ordinal ${failed[0]?.ordinal})`,
        );
      }
      return results;
    } finally {
      await release();
    }
  }

  async *stream<T>(...form: BatchInputs): AsyncIterable<T> {
    const { options } = itemsOf(form);
    const signal = options?.signal ?? this.#deps.lineage?.signal;
    signal?.throwIfAborted();
    const handle = await this.trigger(...form);
    const release = this.#cancelOnAbort(handle.batchId, signal);
    let ownsTheEnd = true; // leaving early (break, return, an abort) cancels; a failed child does not
    try {
      for await (const child of this.waitEach(handle.batchId, signal)) {
        if (child.status !== "Succeeded") {
          ownsTheEnd = false;
          throw new JobRunError(child);
        }
        yield child.result as T;
      }
      ownsTheEnd = false;
    } finally {
      await release();
      if (ownsTheEnd) await this.cancel(handle.batchId, "the consumer that owns the batch stopped");
    }
  }

  async cancel(batchId: string, reason: string): Promise<{ batchId: string; canceled: boolean }> {
    // A batch already complete has nothing to cancel: no request, no cancel reason.
    const progress = await readBatchProgress(this.#deps.store, batchId);
    if (!progress) throw new BatchNotFoundError(batchId);
    if (isComplete(progress)) return { batchId, canceled: false };
    const outcome = await requestBatchCancel(this.#deps.store, batchId, reason, this.#deps.now());
    if (outcome === "missing") throw new BatchNotFoundError(batchId);
    return { batchId, canceled: outcome === "requested" };
  }

  /** The children of a batch in commit order (those created so far), eventually consistent reads 100 at a time. */
  async *children(batchId: string): AsyncIterable<RunItem> {
    const record = await readBatchRecord(this.#deps.store, batchId);
    if (!record) return;
    const keys = (async function* () {
      for (let o = 0; o < record.createdCount; o++)
        yield { runId: batchChildRunId(batchId, o), createdSk: "" };
    })();
    yield* readRuns(this.#deps.store, keys);
  }

  #cancelOnAbort(batchId: string, signal: AbortSignal | undefined): () => Promise<void> {
    if (!signal) return async () => undefined;
    let canceling: Promise<unknown> | undefined;
    const cancel = () => {
      canceling ??= this.cancel(batchId, "the caller that owns the batch aborted").catch(() => undefined);
    };
    if (signal.aborted) cancel();
    const stop = onAbort(signal, cancel);
    return async () => {
      stop();
      await canceling;
    };
  }
}

function itemsOf(form: BatchInputs): { items: readonly BatchItem[]; options: BatchCallOptions | undefined } {
  const [items, options] = Array.isArray(form[0])
    ? [form[0] as readonly BatchItem[], form[1] as BatchCallOptions | undefined]
    : oneJobItems(...(form as [BatchJobRef, readonly unknown[], BatchCallOptions?]));
  const childOptions = options?.childOptions;
  if (childOptions === undefined) return { items, options };
  if (typeof childOptions !== "object" || childOptions === null)
    throw new ValidationError("options.childOptions", "must be an object of run options");
  if ("deduplicationId" in childOptions)
    throw new ValidationError(
      "options.childOptions.deduplicationId",
      "a deduplication id is per child: set it in an item's options",
    );
  return {
    items: items.map((item) =>
      typeof item === "object" && item !== null
        ? { ...item, options: { ...childOptions, ...item.options } }
        : item,
    ),
    options,
  };
}

function oneJobItems(
  job: BatchJobRef,
  inputs: readonly unknown[],
  options?: BatchCallOptions,
): [readonly BatchItem[], BatchCallOptions | undefined] {
  if (!Array.isArray(inputs)) throw new ValidationError("inputs", "must be an array of arguments");
  return [inputs.map((args) => ({ job, args })), options];
}

function snapshotOf(progress: BatchProgress): JobBatch {
  const { record } = progress;
  const status: BatchStatus =
    record.createdCount < record.total ? "Creating" : isComplete(progress) ? "Completed" : "Running";
  return {
    batchId: record.batchId,
    status,
    total: record.total,
    created: record.createdCount,
    counts: progress.counts,
    ...(record.cancelRequested !== undefined ? { cancelReason: record.cancelRequested } : {}),
    ...(record.deduplicationId !== undefined ? { deduplicationId: record.deduplicationId } : {}),
    ...(record.parentRunId !== undefined ? { parentRunId: record.parentRunId } : {}),
    createdAt: new Date(record.createdMs).toISOString(),
  };
}
