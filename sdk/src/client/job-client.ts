/**
 * The client: trigger runs, wait for them, read them, cancel and rerun them.
 *
 * Owner calls (`run`) own what they start: aborting their signal cancels the run.
 * Observer calls (`wait`, `waitResult`) only watch: aborting stops the watching.
 */
import { ulid } from "ulid";
import type { BatchEvent } from "../batches/batch-events.js";
import { toJson } from "../domain/json.js";
import type { JobRun } from "../domain/run.js";
import { isTerminal } from "../domain/run.js";
import { isTerminalEvent, type RunEvent } from "../domain/run-event.js";
import {
  type ResolvedRunOptions,
  type RunOptions,
  resolveRunOptions,
  type SignalOptions,
} from "../domain/run-options.js";
import {
  JobNotFoundError,
  JobRunError,
  RunHasNoResultError,
  RunNotFoundError,
  ValidationError,
} from "../errors.js";
import { validateArgs } from "../jobs/args-schema.js";
import type { JobApp } from "../jobs/job-app.js";
import type { JobDefinition } from "../jobs/job-definition.js";
import { defaultQueueName, jobRecordOf } from "../jobs/job-definition.js";
import { assertName } from "../jobs/names.js";
import { type LimitInfo, readLimits } from "../limits/limit-info.js";
import { getQueues, pauseQueue, type QueueInfo, resumeQueue } from "../limits/queue-calls.js";
import { type RunCounts, readRunCounts } from "../projections/run-counts.js";
import type { Dispatcher } from "../queue/dispatcher.js";
import { observeOverSocket, type WebSocketOptions } from "../realtime/socket-observer.js";
import { type CancelOutcome, cancelRunTree } from "../runs/lifecycle.js";
import { listKeys, readRuns } from "../store/listing.js";
import { newRunItem } from "../store/run-factory.js";
import { inlinePayloadBytes, type RunItem, toJobRun } from "../store/run-item.js";
import type { JobRecord, RunStore } from "../store/run-store.js";
import { markSpawned } from "../store/spawn-mark.js";
import { pollRunEvents } from "../streams/event-poller.js";
import { copyInput } from "../streams/input-log.js";
import { extractStreams, streamNames } from "../streams/stream-args.js";
import { releasePlan } from "../timer/release-plan.js";
import type { RunTimer } from "../timer/timer-port.js";
import { onAbort } from "./abort-listeners.js";
import { abortableSleep, waitDelays } from "./abortable-sleep.js";
import {
  type BatchCallOptions,
  BatchCalls,
  type BatchHandle,
  type BatchInputs,
  type BatchOptions,
  type JobBatch,
} from "./batch-calls.js";
import type { BatchItem } from "./batch-inputs.js";
import { pumpInput } from "./input-pump.js";
import { planListing, type RunFilter } from "./run-filter.js";

/** Where the client finds the system, and how it behaves. */
export interface JobClientOptions {
  readonly store: RunStore;
  readonly dispatcher: Dispatcher;
  /**
   * Jobs known in this process. Names are checked against it first, then against the
   * job records workers write to the table; argument schemas are checked at trigger
   * time only for jobs known here.
   */
  readonly app?: JobApp;
  /** Longest interval between polls while waiting, in ms. @default 1000 */
  readonly maxPollIntervalMs?: number;
  /** Called when a run was stored but its wake-up could not be sent now (the table stream's consumer sends it). @default console.warn */
  readonly onEnqueueError?: (error: unknown, runId: string) => void;
  /**
   * Releases runs due beyond its threshold and expires runs at `notAfter` (EventBridge
   * Scheduler on AWS, the local timer locally; see `timer/timer-port.ts`).
   * @default none: runs due beyond the visibility hold are released by the maintenance pass
   */
  readonly timer?: RunTimer;
  /**
   * Observe runs and batches through the WebSocket API instead of polling
   * (`observeRunEvents`, `stream`, `waitStream`, and waiting in `run`, `wait`,
   * `waitResult`; `observeBatchEvents`, `waitEach`, `runBatch`, `streamBatch`). Polling
   * remains the fallback when the socket cannot be reopened.
   */
  readonly webSocket?: WebSocketOptions;
  /** Clock, epoch ms. @default Date.now */
  readonly now?: () => number;
}

/** A job reference: its definition (typed) or its name. */
export type JobRef<TArgs = unknown, TResult = unknown> = JobDefinition<TArgs, TResult> | string;

/** Trailing arguments of trigger-style calls: `args` may be omitted when the job's arguments accept `undefined`. */
export type TriggerTail<TArgs, TOptions> = undefined extends TArgs
  ? [args?: TArgs, options?: TOptions]
  : [args: TArgs, options?: TOptions];

/** Options of `run`: run options plus the owner's signal (aborting it cancels the run). */
export type RunCallOptions = RunOptions & SignalOptions;

/** Where a client's triggers sit in a run tree, and the signal its owner calls default to. */
interface Lineage {
  readonly parentRunId: string;
  /** The parent's attempt this client creates children for. */
  readonly parentAttempt: number;
  readonly rootRunId: string;
  readonly signal?: AbortSignal;
}

/** How long a positive job-name lookup is cached, in ms. */
const jobCacheMs = 60_000;

/**
 * How long runs of each job took from trigger to end, as this client saw them: an
 * exponentially weighted mean (weight 1/4 for the newest), so waiting polls first when a
 * run of that job usually ends (`waitDelays`).
 */
class RunDurations {
  readonly #means = new Map<string, number>();
  expected(jobName: string): number | undefined {
    return this.#means.get(jobName);
  }
  record(jobName: string, ms: number): void {
    const mean = this.#means.get(jobName);
    this.#means.set(jobName, mean === undefined ? ms : mean + (ms - mean) / 4);
  }
}

export class JobClient {
  readonly #options: JobClientOptions;
  readonly #lineage: Lineage | undefined;
  readonly #now: () => number;
  readonly #knownJobs: Map<string, { record: JobRecord; until: number }>;
  readonly #durations: RunDurations;
  /** The parent's `spawnedAttempt` write, made before this client's first child (see `store/spawn-mark.ts`). */
  #spawnMarked: Promise<void> | undefined;
  readonly #batches: BatchCalls;

  constructor(
    options: JobClientOptions,
    lineage?: Lineage,
    shared?: { knownJobs: Map<string, { record: JobRecord; until: number }>; durations: RunDurations },
  ) {
    this.#options = options;
    this.#lineage = lineage;
    this.#now = options.now ?? Date.now;
    this.#knownJobs = shared?.knownJobs ?? new Map();
    this.#durations = shared?.durations ?? new RunDurations();
    this.#batches = new BatchCalls({
      store: options.store,
      resolveJob: (name) => this.#resolveJob(name),
      ...(lineage ? { lineage } : {}),
      markSpawned: () => this.#markSpawned(),
      snapshot: (item) => this.#snapshot(item),
      maxPollIntervalMs: options.maxPollIntervalMs ?? 1000,
      ...(options.webSocket ? { webSocket: options.webSocket } : {}),
      now: this.#now,
    });
  }

  /**
   * Creates a run and returns it, Pending, without waiting. Limits never reject a
   * trigger; they are applied when the run is claimed.
   *
   * @param job - the job's definition (typed arguments) or its name.
   * @param args - JSON arguments (at most 256 KiB serialized); omit for none.
   * @param options - `notBefore`, `notAfter`, `priority`, `deduplicationId`.
   * @throws {@link JobNotFoundError} unknown job name.
   * @throws {@link ValidationError} arguments not JSON or too large, arguments failing the
   *   job's schema, bad options (see `RunOptions`).
   * @throws {@link RunConflictError} the deduplication id is held by a non-terminal run.
   * Nothing is written when any of these is thrown.
   * @example
   * ```ts
   * const run = await client.trigger("Report", undefined, { notBefore: new Date(Date.now() + 3_600_000) });
   * ```
   */
  trigger<TArgs, TResult>(
    job: JobDefinition<TArgs, TResult>,
    ...rest: TriggerTail<TArgs, RunOptions>
  ): Promise<JobRun<TResult>>;
  trigger<TResult = unknown>(jobName: string, args?: unknown, options?: RunOptions): Promise<JobRun<TResult>>;
  async trigger(job: JobRef, args?: unknown, options?: RunOptions): Promise<JobRun> {
    return toJobRun(await this.#create(job, args, options, {}));
  }

  /**
   * Triggers a run and waits for its result (owner call: aborting `options.signal`
   * cancels the run, then rejects with the signal's reason).
   *
   * @returns the handler's return value (`undefined` when it returned nothing).
   * @throws {@link JobRunError} when the run ends Failed or Canceled (carries the run).
   * @throws everything {@link JobClient.trigger} throws.
   * @example
   * ```ts
   * const sum = await client.run(add, { a: 1, b: 2 }); // typed: number
   * ```
   */
  run<TArgs, TResult>(
    job: JobDefinition<TArgs, TResult>,
    ...rest: TriggerTail<TArgs, RunCallOptions>
  ): Promise<TResult>;
  run<TResult = unknown>(jobName: string, args?: unknown, options?: RunCallOptions): Promise<TResult>;
  async run(job: JobRef, args?: unknown, options?: RunCallOptions): Promise<unknown> {
    const { signal: own, ...runOptions } = options ?? {};
    const signal = own ?? this.#lineage?.signal;
    signal?.throwIfAborted();
    const created = await this.#create(job, args, runOptions, {});
    const release = this.#cancelOnAbort(created.runId, signal);
    try {
      const item = await this.#untilTerminal(created.runId, signal, created);
      // The result only: a run's arguments (up to 256 KiB) are not read back to return it.
      if (item.status !== "Succeeded") throw new JobRunError(await this.#snapshot(item));
      return (await this.#snapshot(item, { withArgs: false })).result;
    } finally {
      await release();
    }
  }

  /**
   * Triggers a streaming job (one whose handler returns an async iterable) and yields
   * its items as they are written, in order (owner call: aborting `options.signal`, or
   * leaving the loop early, cancels the run).
   *
   * Items reach the consumer while the producer still runs (written within about
   * 50 ms of being yielded). If the run fails, the items so far are yielded, then
   * {@link JobRunError} is thrown. Delivery across retries is at-least-once: the items of
   * every attempt are yielded in order; each attempt's items carry its attempt number in
   * the events (`observeRunEvents`), and the run's final result is the last attempt's items.
   *
   * The result may itself be passed in a trigger's arguments: see "pipelines" in the README.
   * @throws everything {@link JobClient.trigger} throws.
   * @example
   * ```ts
   * for await (const order of client.stream(streamOrders, undefined)) console.log(order.id);
   * ```
   */
  stream<TArgs, TItem>(
    job: JobDefinition<TArgs, AsyncIterable<TItem>>,
    ...rest: TriggerTail<TArgs, RunCallOptions>
  ): AsyncIterable<TItem>;
  stream<TItem = unknown>(jobName: string, args?: unknown, options?: RunCallOptions): AsyncIterable<TItem>;
  async *stream(job: JobRef, args?: unknown, options?: RunCallOptions): AsyncIterable<unknown> {
    const { signal: own, ...runOptions } = options ?? {};
    const signal = own ?? this.#lineage?.signal;
    signal?.throwIfAborted();
    const created = await this.#create(job, args, runOptions, {});
    const release = this.#cancelOnAbort(created.runId, signal);
    let finished = false;
    try {
      yield* this.#outputItems(created.runId, signal);
      finished = true;
    } finally {
      await release();
      if (!finished)
        await this.cancel(created.runId, { reason: "the consumer that owns the stream stopped" });
    }
  }

  /**
   * Yields the output items of an existing streaming run (observer call: aborting only
   * stops observing). Same order, failure and retry rules as {@link JobClient.stream}.
   * @throws {@link RunNotFoundError} no such run.
   * @throws {@link JobRunError} after the items so far, if the run ends Failed or Canceled.
   */
  async *waitStream<TItem = unknown>(runId: string, options: SignalOptions = {}): AsyncIterable<TItem> {
    yield* this.#outputItems(runId, options.signal) as AsyncIterable<TItem>;
  }

  /**
   * Yields a run's events in order (status changes, progress, log lines, output and
   * input items), from `sinceEventId + 1` on, ending after the terminal status event
   * (observer call). Resume a stopped observation with the last `eventId` seen: no
   * event is skipped or repeated. Reads through the WebSocket API when the client has
   * `webSocket` options, else by polling DynamoDB with adaptive backoff.
   *
   * @param options.sinceEventId - yield events after this id (0, the default, for all).
   * @throws {@link RunNotFoundError} no such run.
   * @example
   * ```ts
   * for await (const e of client.observeRunEvents(runId, { sinceEventId: 41 })) if (e.type === "progress") bar(e.progress);
   * ```
   */
  async *observeRunEvents(
    runId: string,
    options: SignalOptions & { readonly sinceEventId?: number } = {},
  ): AsyncIterable<RunEvent> {
    const since = options.sinceEventId ?? 0;
    if (!Number.isInteger(since) || since < 0) {
      throw new ValidationError(
        "options.sinceEventId",
        `${String(options.sinceEventId)} is not an integer >= 0`,
      );
    }
    const store = this.#options.store;
    const run = await store.get(runId);
    if (!run) throw new RunNotFoundError(runId);
    // Resuming after the last event of a finished run: there is nothing more to wait for.
    if (isTerminal(run.status) && since >= run.seq) return;
    const follow = (sinceEventId: number) =>
      pollRunEvents(store, runId, {
        sinceEventId,
        maxIntervalMs: this.#options.maxPollIntervalMs ?? 1000,
        ...(options.signal ? { signal: options.signal } : {}),
      });
    const socket = this.#options.webSocket;
    if (!socket) return yield* follow(since);
    yield* observeOverSocket(
      socket,
      runId,
      since,
      { read: (after) => store.events(runId, after), follow },
      options.signal,
    );
  }

  async *#outputItems(runId: string, signal: AbortSignal | undefined): AsyncIterable<unknown> {
    for await (const event of this.observeRunEvents(runId, signal ? { signal } : {})) {
      if (event.type === "output") yield* event.items;
      if (event.type === "status" && isTerminal(event.status) && event.status !== "Succeeded") {
        throw new JobRunError(await this.getRun(runId));
      }
    }
  }

  /**
   * Cancels `runId` when `signal` aborts. Returns a function that stops listening and
   * resolves once a cancel it started is written, so an owner call never rejects before
   * its run's cancel is stored.
   */
  #cancelOnAbort(runId: string, signal: AbortSignal | undefined): () => Promise<void> {
    if (!signal) return async () => undefined;
    let canceling: Promise<unknown> | undefined;
    const cancelRun = () => {
      canceling ??= this.cancel(runId, { reason: "the caller that owns the run aborted" }).catch(
        () => undefined,
      );
    };
    // The signal may have aborted while the run was being created.
    if (signal.aborted) cancelRun();
    const stopListening = onAbort(signal, cancelRun);
    return async () => {
      stopListening();
      await canceling;
    };
  }

  /**
   * Waits until the run is terminal and returns its final snapshot, whatever the status
   * (observer call: aborting `options.signal` only stops waiting).
   * Waits over the WebSocket API when the client has `webSocket` options (as `run` and
   * `waitResult` do), else polls with adaptive backoff up to `maxPollIntervalMs`.
   *
   * @throws {@link RunNotFoundError} no such run.
   */
  async wait(runId: string, options: SignalOptions = {}): Promise<JobRun> {
    return this.#waitTerminal(runId, options.signal);
  }

  /**
   * Waits for the run and returns its result (observer call).
   *
   * @throws {@link JobRunError} the run ended Failed or Canceled.
   * @throws {@link RunHasNoResultError} it succeeded, but its handler returned nothing.
   * @throws {@link RunNotFoundError} no such run.
   */
  async waitResult<TResult = unknown>(runId: string, options: SignalOptions = {}): Promise<TResult> {
    const run = await this.#waitTerminal<TResult>(runId, options.signal);
    if (run.status !== "Succeeded") throw new JobRunError(run);
    if (!run.hasResult) throw new RunHasNoResultError(runId);
    return run.result as TResult;
  }

  /**
   * Reads a run (strongly consistent).
   *
   * @throws {@link RunNotFoundError} no such run.
   */
  async getRun<TResult = unknown>(runId: string): Promise<JobRun<TResult>> {
    const found = await this.#options.store.getWithPayloads(runId);
    if (!found) throw new RunNotFoundError(runId);
    return this.#snapshot<TResult>(found.run, found);
  }

  /**
   * The public snapshot of a run item: payloads, log tail and (for big streaming results)
   * output events, each read only when the item says there is something to read.
   * `payloads` already read are not read again; `withArgs: false` leaves the arguments out.
   */
  async #snapshot<T>(
    item: RunItem,
    payloads?: { argsJson?: string; resultJson?: string; withArgs?: boolean },
  ): Promise<JobRun<T>> {
    const store = this.#options.store;
    const argsJson =
      payloads?.withArgs === false
        ? undefined
        : payloads && "argsJson" in payloads
          ? payloads.argsJson
          : await store.argsJson(item);
    const resultJson =
      payloads?.resultJson ??
      (item.resultRef ? (await store.getWithPayloads(item.runId))?.resultJson : undefined);
    const tail = await store.tail(item);
    let result: unknown = resultJson === undefined ? undefined : JSON.parse(resultJson);
    if (item.resultInEvents) {
      const items: unknown[] = [];
      for await (const event of store.events(item.runId)) {
        if (event.type === "output" && event.attempt === item.attempt) items.push(...event.items);
      }
      result = items;
    }
    return toJobRun<T>(item, {
      ...(argsJson !== undefined ? { args: JSON.parse(argsJson) } : {}),
      ...(result !== undefined ? { result } : {}),
      recentLogs: tail.recentLogs,
      ...(tail.progress !== undefined ? { progress: tail.progress } : {}),
    });
  }

  /**
   * Lists runs matching `filter`, newest first, paging through DynamoDB by itself.
   * Reads come from secondary indexes, so a run written a moment ago may be missing
   * (eventually consistent).
   *
   * @throws {@link ValidationError} an unknown status, a bad date or page size.
   * @example
   * ```ts
   * for await (const run of client.getRuns({ jobName: "Import", status: "Failed" })) console.log(run.runId);
   * ```
   */
  getRuns(filter: RunFilter = {}): AsyncIterable<JobRun> {
    const store = this.#options.store;
    const plan = planListing(filter);
    if (filter.batchId !== undefined) {
      const children = this.#batches.children(filter.batchId);
      return (async function* () {
        for await (const item of children) if (plan.matches(item)) yield toJobRun(item);
      })();
    }
    return (async function* () {
      const jobNames = plan.needsJobNames ? await store.jobNames() : [];
      for await (const item of readRuns(store, listKeys(store, plan.listing(jobNames)))) {
        if (plan.matches(item)) yield toJobRun(item);
      }
    })();
  }

  /**
   * Counts runs by status for one job or one queue, as the run counts projection keeps
   * them (`projections/run-counts.ts`): updated from the table's stream once per
   * batching window (up to a minute behind on AWS), exact for runs created since the
   * system was deployed. One eventually consistent read.
   *
   * @param scope - `{ jobName }` or `{ queue }`.
   * @throws {@link ValidationError} neither or both given.
   * @example
   * ```ts
   * const { Pending, Running, Failed } = await client.getRunCounts({ jobName: "Import" });
   * ```
   */
  async getRunCounts(scope: { readonly jobName?: string; readonly queue?: string }): Promise<RunCounts> {
    if ((scope.jobName === undefined) === (scope.queue === undefined)) {
      throw new ValidationError("scope", "give exactly one of jobName and queue");
    }
    return scope.jobName !== undefined
      ? readRunCounts(this.#options.store, "job", scope.jobName)
      : readRunCounts(this.#options.store, "queue", scope.queue as string);
  }

  /**
   * Pauses a queue: no run of it starts until `resumeQueue` (running runs continue).
   * Resolves once no worker can start one any more (workers read pause state at most a
   * second old, so this takes about 1.25 s); runs that a worker receives meanwhile wait
   * with `waitingFor: "queue paused"`, holding no message.
   * @throws {@link ValidationError} an invalid queue name.
   * @throws {@link QueueNotFoundError} no queue of that name is registered (a typo pauses nothing).
   */
  async pauseQueue(name: string): Promise<void> {
    assertName(name, "queue");
    await pauseQueue(this.#options.store, name);
  }

  /**
   * Resumes a paused queue and starts its waiting runs in claim order (queue priority,
   * run priority, due time, creation). Resolves once they are woken (not started).
   * @throws {@link ValidationError} an invalid queue name.
   * @throws {@link QueueNotFoundError} no queue of that name is registered.
   */
  async resumeQueue(name: string): Promise<void> {
    assertName(name, "queue");
    await resumeQueue({ store: this.#options.store, dispatcher: this.#options.dispatcher }, name);
  }

  /**
   * Every registered queue: priority, limits, whether it is paused, and its running,
   * pending and waiting runs (`QueueInfo` says which counts are exact).
   */
  getQueues(): Promise<QueueInfo[]> {
    return getQueues(this.#options.store);
  }

  /**
   * The concurrency limits of this client's app (its jobs' and queues' limits), each with
   * the slots held now and the runs waiting for it, read strongly consistently. Needs the
   * app (`connect({ app })`): returns nothing without it. Per-key limits are listed for
   * the keys in `keys` (`{ jobName: [key, ...] }`).
   */
  getLimits(keys: Readonly<Record<string, readonly string[]>> = {}): Promise<LimitInfo[]> {
    return this.#options.app ? readLimits(this.#options.store, this.#options.app, keys) : Promise.resolve([]);
  }

  /**
   * Cancels a Pending or Running run. Its non-terminal descendants are canceled from the
   * table's stream (`runs/cascade-cancel.ts`), one level per stream lag, whether or not
   * this process is still there: the call writes only this run, whatever the size of
   * the tree, and resolves before the descendants are canceled. A running handler's
   * signal aborts within two heartbeat intervals. Canceling a terminal run changes
   * nothing and says so (`canceled: false`).
   *
   * @throws {@link RunNotFoundError} no such run.
   */
  async cancel(runId: string, options: { readonly reason?: string } = {}): Promise<CancelOutcome> {
    const outcome = await cancelRunTree(
      this.#options.store,
      runId,
      options.reason ?? "canceled by request",
      this.#now,
      this.#options.timer,
    );
    if (!outcome) throw new RunNotFoundError(runId);
    return outcome;
  }

  /**
   * Creates a batch and returns at once: one job over many inputs
   * (`triggerBatch(job, inputs, options?)`), or a mix of jobs
   * (`triggerBatch(items, options?)`, each item `{ job, args?, options? }`). Each input
   * becomes a child run, with the batch's id and its ordinal (commit order is input
   * order; child ids are `<batchId>-<ordinal>`). The children are created from the
   * table's stream after this call returns, at most 500 per step (the handle's
   * `runIds()` yields them as they exist; `getBatch` says `Creating` until all do); a
   * crash of this process after the call returned does not stop it. Inside a job, the
   * batch is a child of the job's run: ending that run without success cancels the batch.
   *
   * Every item is checked before anything is written; one bad item rejects the batch.
   *
   * @param options.deduplicationId - the batch's idempotency key: a repeat call returns
   *   the existing batch (`existing: true`) and creates nothing.
   * @throws {@link ValidationError} no items, more than 10,000, or a bad item (the path
   *   names it: `items[3].args.when: Date is not JSON; pass an ISO string`).
   * @throws {@link JobNotFoundError} an item names an unknown job (`batchIndex`).
   * @throws {@link RunConflictError} an item's own deduplication id is held by a
   *   non-terminal run (`batchIndex`).
   * @example
   * ```ts
   * const batch = await client.triggerBatch("ProcessOrder", [{ orderId: 101 }, { orderId: 102 }]);
   * const mixed = await client.triggerBatch([{ job: "ProcessOrder", args: { orderId: 101 } }, { job: "EmailReceipt", args: { orderId: 101 } }]);
   * ```
   */
  triggerBatch<TArgs, TResult>(
    job: JobDefinition<TArgs, TResult>,
    inputs: readonly TArgs[],
    options?: BatchOptions,
  ): Promise<BatchHandle>;
  triggerBatch(jobName: string, inputs: readonly unknown[], options?: BatchOptions): Promise<BatchHandle>;
  triggerBatch(items: readonly BatchItem[], options?: BatchOptions): Promise<BatchHandle>;
  triggerBatch(...form: BatchInputs): Promise<BatchHandle> {
    return this.#batches.trigger(...form);
  }

  /**
   * Triggers a batch and waits for every child to end (owner call: aborting
   * `options.signal` cancels the batch). Reads the batch's progress, not each child.
   *
   * @returns the results in commit order (input order).
   * @throws AggregateError after every child ended, when any child failed or was
   *   canceled: one {@link JobRunError} per such child, in commit order (each carries the child).
   * @throws everything {@link JobClient.triggerBatch} throws.
   * @throws the signal's reason (an `AbortError` unless the caller gave one) when `options.signal` aborts; the batch is then canceled.
   * @example
   * ```ts
   * const results = await client.runBatch<{ orderId: number }>("ProcessOrder", [{ orderId: 101 }, { orderId: 102 }]);
   * ```
   */
  runBatch<TArgs, TResult>(
    job: JobDefinition<TArgs, TResult>,
    inputs: readonly TArgs[],
    options?: BatchCallOptions,
  ): Promise<TResult[]>;
  runBatch<T = unknown>(
    jobName: string,
    inputs: readonly unknown[],
    options?: BatchCallOptions,
  ): Promise<T[]>;
  runBatch<T = unknown>(items: readonly BatchItem[], options?: BatchCallOptions): Promise<T[]>;
  runBatch<T>(...form: BatchInputs): Promise<T[]> {
    return this.#batches.run<T>(...form);
  }

  /**
   * Triggers a batch and yields each child's result as that child succeeds (fail-fast:
   * throws {@link JobRunError} at the first child that failed or was canceled, while the
   * rest of the batch keeps running). Owner call: aborting `options.signal`, or leaving
   * the loop early (`break`, `return`), cancels the batch; the throw on a failed child does not.
   *
   * @throws everything {@link JobClient.triggerBatch} throws.
   * @throws the signal's reason (an `AbortError` unless the caller gave one) when `options.signal` aborts; the batch is then canceled.
   * @example
   * ```ts
   * for await (const result of client.streamBatch("ProcessOrder", orders)) console.log(result);
   * ```
   */
  streamBatch<TArgs, TResult>(
    job: JobDefinition<TArgs, TResult>,
    inputs: readonly TArgs[],
    options?: BatchCallOptions,
  ): AsyncIterable<TResult>;
  streamBatch<T = unknown>(
    jobName: string,
    inputs: readonly unknown[],
    options?: BatchCallOptions,
  ): AsyncIterable<T>;
  streamBatch<T = unknown>(items: readonly BatchItem[], options?: BatchCallOptions): AsyncIterable<T>;
  streamBatch<T>(...form: BatchInputs): AsyncIterable<T> {
    return this.#batches.stream<T>(...form);
  }

  /**
   * Reads a batch: status (`Creating` until every child exists, `Completed` once every
   * child is terminal), total, children created, counts per status (kept from the
   * table's stream, up to one stream batch behind the children). One strongly consistent `Query`.
   *
   * @throws {@link BatchNotFoundError} no such batch.
   */
  getBatch(batchId: string): Promise<JobBatch> {
    return this.#batches.get(batchId);
  }

  /**
   * Waits until every child of the batch is terminal and its counts account for every
   * child, and returns the final snapshot (observer call: aborting only stops waiting).
   *
   * @throws {@link BatchNotFoundError} no such batch.
   * @throws the signal's reason (an `AbortError` unless the caller gave one) when `options.signal` aborts.
   * @example
   * ```ts
   * const { counts } = await client.waitBatch(batchId); // counts.Failed, counts.Succeeded, ...
   * ```
   */
  waitBatch(batchId: string, options: SignalOptions = {}): Promise<JobBatch> {
    return this.#batches.wait(batchId, options.signal);
  }

  /**
   * Yields each child of the batch exactly once, as it reaches a terminal status
   * (observer call). Ends once every child was yielded.
   *
   * @throws {@link BatchNotFoundError} no such batch.
   * @throws the signal's reason (an `AbortError` unless the caller gave one) when `options.signal` aborts.
   * @example
   * ```ts
   * for await (const child of client.waitEach(batchId)) console.log(child.batchOrdinal, child.status);
   * ```
   */
  waitEach(batchId: string, options: SignalOptions = {}): AsyncIterable<JobRun> {
    return this.#batches.waitEach(batchId, options.signal);
  }

  /**
   * Yields the batch's events: each child's status changes (`Pending`, `Running`, and
   * its terminal status), in order per child, merged across children by commit time;
   * ends after every child's terminal event (observer call). Event ids are opaque
   * strings: resume with `sinceEventId` set to the last id seen, with no event skipped
   * or repeated. With `webSocket` client options it reads the log when the WebSocket API
   * says it grew, else it polls (adaptive backoff up to `maxPollIntervalMs`).
   *
   * @throws {@link BatchNotFoundError} no such batch.
   * @throws the signal's reason (an `AbortError` unless the caller gave one) when `options.signal` aborts.
   * @throws {@link ValidationError} `sinceEventId` is not an id of this batch.
   * @example
   * ```ts
   * for await (const e of client.observeBatchEvents(batchId, { sinceEventId: last })) last = e.eventId;
   * ```
   */
  observeBatchEvents(
    batchId: string,
    options: SignalOptions & { readonly sinceEventId?: string } = {},
  ): AsyncIterable<BatchEvent> {
    return this.#batches.observe(batchId, options.sinceEventId, options.signal);
  }

  /**
   * Cancels every child of the batch that is not terminal yet, and their descendants.
   * One write, whatever the batch's size: the table's stream carries it out (500
   * children per step) whether or not this process is still there, and a child claimed
   * afterwards is canceled instead of started. Resolves before the children are
   * canceled; `canceled: false` when the batch was canceled before or had already
   * completed (then nothing is written and it gets no cancel reason). Two requests: the
   * batch's progress is read (one `Query`), then the cancel is written.
   *
   * @throws {@link BatchNotFoundError} no such batch.
   */
  cancelBatch(
    batchId: string,
    options: { readonly reason?: string } = {},
  ): Promise<{ batchId: string; canceled: boolean }> {
    return this.#batches.cancel(batchId, options.reason ?? `batch ${batchId} canceled by request`);
  }

  /**
   * Creates a new run of a finished run's job with the same arguments; the new run's
   * `rerunOfRunId` names the original. (Retries, by contrast, continue the same run.)
   *
   * @throws {@link RunNotFoundError} no such run.
   * @throws {@link ValidationError} the run is not terminal yet.
   */
  async rerun(runId: string, options?: RunOptions): Promise<JobRun> {
    const original = await this.#options.store.get(runId);
    if (!original) throw new RunNotFoundError(runId);
    if (!isTerminal(original.status)) {
      throw new ValidationError(
        "runId",
        `run ${runId} is ${original.status}; only a finished run can be rerun`,
      );
    }
    const argsJson = await this.#options.store.argsJson(original);
    const args = argsJson === undefined ? undefined : JSON.parse(argsJson);
    const created = await this.#create(
      original.jobName,
      args,
      { priority: original.priority, ...options },
      {
        rerunOfRunId: runId,
      },
    );
    for (const name of streamNames(argsJson))
      await copyInput(this.#options.store, runId, created.runId, name);
    return this.#snapshot(created, { ...(argsJson !== undefined ? { argsJson } : {}) });
  }

  /**
   * A client whose triggers are children of `parent` (used for `ctx.client`).
   * @internal
   */
  childClient(parent: Pick<RunItem, "runId" | "rootRunId" | "attempt">, signal?: AbortSignal): JobClient {
    const lineage = {
      parentRunId: parent.runId,
      parentAttempt: parent.attempt,
      rootRunId: parent.rootRunId,
      ...(signal ? { signal } : {}),
    };
    return new JobClient(this.#options, lineage, { knownJobs: this.#knownJobs, durations: this.#durations });
  }

  async #waitTerminal<T>(runId: string, signal?: AbortSignal): Promise<JobRun<T>> {
    return this.#snapshot<T>(await this.#untilTerminal(runId, signal));
  }

  /**
   * Waits until the run item is terminal and returns it: over the WebSocket API when
   * the client has `webSocket` options, else by polling (`created`: the run this client
   * just made, so no first read).
   */
  async #untilTerminal(runId: string, signal?: AbortSignal, created?: RunItem): Promise<RunItem> {
    const store = this.#options.store;
    const item = created ?? (await store.get(runId, false)) ?? (await store.get(runId));
    if (!item) throw new RunNotFoundError(runId);
    if (isTerminal(item.status)) return item;
    const final = this.#options.webSocket
      ? await this.#observeTerminal(item, signal)
      : await this.#pollTerminal(item, signal);
    this.#durations.record(final.jobName, (final.completedMs ?? this.#now()) - final.createdMs);
    return final;
  }

  /** Polls the run item (eventually consistent) until it is terminal. */
  async #pollTerminal(item: RunItem, signal?: AbortSignal): Promise<RunItem> {
    const store = this.#options.store;
    const expected = this.#durations.expected(item.jobName);
    const delays = waitDelays(
      this.#options.maxPollIntervalMs ?? 1000,
      expected === undefined ? undefined : Math.max(0, expected - (this.#now() - item.createdMs)),
    );
    let current = item;
    while (!isTerminal(current.status)) {
      await abortableSleep(delays.next().value, signal);
      // Eventually consistent: half the read units, and a terminal status never changes,
      // so a stale read only means one more poll.
      current = (await store.get(item.runId, false)) ?? current;
    }
    return current;
  }

  /**
   * Observes the run's events from its latest status event on until the terminal one
   * (`observeRunEvents`, over the socket), then reads the run item.
   */
  async #observeTerminal(item: RunItem, signal?: AbortSignal): Promise<RunItem> {
    const events = this.observeRunEvents(item.runId, {
      sinceEventId: item.seq,
      ...(signal ? { signal } : {}),
    });
    for await (const event of events) if (isTerminalEvent(event)) break;
    return (await this.#options.store.get(item.runId)) ?? item;
  }

  async #create(
    job: JobRef,
    args: unknown,
    options: RunOptions | undefined,
    extra: Pick<RunItem, "rerunOfRunId">,
  ): Promise<RunItem> {
    const now = this.#now();
    const jobName = typeof job === "string" ? job : job.name;
    assertName(jobName, "job");
    const resolved = resolveRunOptions(options, now);
    const { args: storedArgs, streams } = extractStreams(args);
    const argsJson = storedArgs === undefined ? undefined : toJson(storedArgs, "args");
    const definition = await this.#resolveJob(jobName);
    if (definition.schema && streams.size === 0) await checkSchema(definition.schema, args);

    const runId = ulid(now);
    const timer = this.#options.timer;
    // Due soon: send now, the worker holds the message until notBefore. Further: the timer
    // sends it. No timer: the maintenance pass finds it in the sparse byLater index when due.
    const release = releasePlan(timer, resolved, now);
    const { path, dueMs, expiry } = release;
    const notAfterMs = resolved.notAfterMs;
    const inline = argsJson === undefined || Buffer.byteLength(argsJson, "utf8") <= inlinePayloadBytes;
    const item = newRunItem(
      {
        ...itemFields(runId, jobName, resolved, definition.record),
        ...(argsJson !== undefined ? (inline ? { argsJson } : { argsRef: true }) : {}),
        ...(streams.size > 0 ? { hasInputs: true } : {}),
        ...(this.#lineage
          ? {
              parentRunId: this.#lineage.parentRunId,
              parentAttempt: this.#lineage.parentAttempt,
              rootRunId: this.#lineage.rootRunId,
            }
          : { rootRunId: runId }),
        ...extra,
        createdMs: now,
        ...release.fields,
      },
      path === "later",
    );
    if (!inline && argsJson !== undefined) await this.#options.store.putPayload(runId, "ARGS", argsJson);
    await this.#markSpawned();
    const stored = await this.#options.store.create(item);
    for (const [name, source] of streams) {
      // The consuming run sees no more input and fails with InputStalledError after the idle bound.
      void pumpInput(this.#options.store, runId, name, source).catch((error) =>
        console.warn(`the input "${name}" of run ${runId} stopped being written:`, error),
      );
    }
    const onError = (error: unknown) => (this.#options.onEnqueueError ?? defaultEnqueueError)(error, runId);
    // The fast path. The table stream's consumer sends the same wake-up (same deduplication
    // id: SQS drops the copy) and makes the same schedules (same names), so a failure here,
    // or this process dying now, delays the run by the stream's lag and loses nothing.
    await Promise.all([
      path === "lane" ? this.#options.dispatcher.send(stored).catch(onError) : undefined,
      path === "timer" ? timer?.scheduleRelease(stored, dueMs).catch(onError) : undefined,
      expiry && notAfterMs !== undefined
        ? timer?.scheduleExpiry(stored, notAfterMs).catch(onError)
        : undefined,
    ]);
    return stored;
  }

  /** Marks the parent before its first child (once per child client; again after a failed write). */
  async #markSpawned(): Promise<void> {
    const lineage = this.#lineage;
    if (!lineage) return;
    this.#spawnMarked ??= markSpawned(this.#options.store, lineage.parentRunId, lineage.parentAttempt);
    try {
      await this.#spawnMarked;
    } catch (error) {
      this.#spawnMarked = undefined;
      throw error;
    }
  }

  async #resolveJob(name: string): Promise<{ record: JobRecord; schema?: JobDefinition["argsSchema"] }> {
    const local = this.#options.app?.getJob(name);
    if (local) {
      const queuePriority = this.#options.app?.getQueue(local.queue)?.priority;
      return { record: jobRecordOf(local, queuePriority), schema: local.argsSchema };
    }
    const cached = this.#knownJobs.get(name);
    if (cached && cached.until > this.#now()) return { record: cached.record };
    const record = await this.#options.store.getJob(name);
    if (!record) throw new JobNotFoundError(name);
    this.#knownJobs.set(name, { record, until: this.#now() + jobCacheMs });
    return { record };
  }
}

function itemFields(runId: string, jobName: string, options: ResolvedRunOptions, job: JobRecord) {
  return {
    runId,
    jobName,
    priority: options.priority ?? job.priority ?? 0,
    queue: job.queue ?? defaultQueueName,
    ...(job.queuePriority ? { queuePriority: job.queuePriority } : {}),
    ...(options.notBeforeMs !== undefined ? { notBeforeMs: options.notBeforeMs } : {}),
    ...(options.notAfterMs !== undefined ? { notAfterMs: options.notAfterMs } : {}),
    ...(options.deduplicationId !== undefined ? { deduplicationId: options.deduplicationId } : {}),
  };
}

async function checkSchema(schema: NonNullable<JobDefinition["argsSchema"]>, args: unknown): Promise<void> {
  const check = await validateArgs(schema, args);
  if (!check.ok) throw new ValidationError("args", `do not match the job's schema: ${check.detail}`);
}

function defaultEnqueueError(error: unknown, runId: string): void {
  console.warn(
    `run ${runId} is stored but its wake-up was not sent; the table stream's consumer sends it:`,
    error,
  );
}
