/**
 * The one store: runs, their payloads and events, deduplication locks, job records and
 * worker heartbeats in a single DynamoDB table (docs/ARCHITECTURE.md, "Data model").
 * The same code runs against AWS, LocalStack and DynamoDB Local.
 *
 * What each write costs (a run item under 1 KB):
 * - create: one `PutItem` (a transaction with the lock for a deduplicated run), plus one
 *   `KEYS_ONLY` index entry (`byJob`; a child also `byParent`);
 * - claim: one `UpdateItem`, no read first (`claim.ts`);
 * - completion by the worker: one `UpdateItem` (a transaction only to free a dedup lock);
 * - data events: one `PutItem` each, written by the attempt's holder only;
 * - a retry, or a status written by another writer while a worker holds the run (a
 *   cancel, a recovery): one transaction that also materializes the status events the run
 *   item can no longer carry inline.
 */

import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import type { ResolvedRetryPolicy } from "../domain/retry-policy.js";
import { isTerminal } from "../domain/run.js";
import type { RunEvent, RunEventBody } from "../domain/run-event.js";
import type { Transition } from "../domain/transitions.js";
import { RunConflictError } from "../errors.js";
import { isConditionFailed } from "./condition-failed.js";
import { conditions, updateOf } from "./conditions.js";
import { type EventItem, toEventItem } from "./event-item.js";
import { type RunTail, readEvents, readTail } from "./event-log.js";
import {
  dedupKey,
  eventSk,
  jobKey,
  jobsPk,
  lastEventSk,
  payloadKey,
  runKey,
  runPk,
  workerKey,
} from "./keys.js";
import { releaseItems } from "./limit-release.js";
import type { RunItem } from "./run-item.js";
import { type TransactItem, transactWrite } from "./transact.js";

/** The job record written when workers start, so any client can check a job name. */
export interface JobRecord {
  readonly name: string;
  readonly description?: string;
  readonly tags: readonly string[];
  readonly queue: string;
  /** The queue's priority (when not 0): with it a run's lane band is the queue's (`queue/lane-definitions.ts`). */
  readonly queuePriority?: number;
  readonly priority: number;
  /** The job's retry policy, so any worker or recovery can apply it. */
  readonly retry: ResolvedRetryPolicy;
  readonly timeoutMs?: number;
  readonly hasArgsSchema: boolean;
}

/** Where the store lives. */
export interface RunStoreOptions {
  readonly doc: DynamoDBDocumentClient;
  readonly tableName: string;
}

/** A run item with the payloads stored beside it. */
export interface RunWithPayloads {
  readonly run: RunItem;
  readonly argsJson?: string;
  readonly resultJson?: string;
}

/** A worker's heartbeat, as read back. */
export interface Heartbeat {
  readonly workerId: string;
  /** When the worker last proved it was alive, epoch ms. */
  readonly beatMs: number;
}

/**
 * A write of events that failed on an infrastructure error (throttling, say) after
 * `written` of them were stored: the caller keeps the rest and writes them later.
 */
export class EventsWriteError extends Error {
  override name = "EventsWriteError";
  readonly written: number;
  constructor(written: number, cause: unknown) {
    super(`writing run events failed after ${written}: ${(cause as Error)?.message ?? String(cause)}`, {
      cause,
    });
    this.written = written;
  }
}

/** The writer of a transition that holds the attempt: it knows the last event id it wrote. */
export interface OwnWriter {
  readonly lastEventId: number;
}

export class RunStore {
  readonly doc: DynamoDBDocumentClient;
  readonly tableName: string;

  constructor(options: RunStoreOptions) {
    this.doc = options.doc;
    this.tableName = options.tableName;
  }

  /** Reads a run item. Strongly consistent unless `consistent` is false (half the read units). */
  async get(runId: string, consistent = true): Promise<RunItem | undefined> {
    const out = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: runKey(runId), ConsistentRead: consistent }),
    );
    return out.Item as RunItem | undefined;
  }

  /** Reads a run item and its payload items in one request (strongly consistent). */
  async getWithPayloads(runId: string): Promise<RunWithPayloads | undefined> {
    const out = await this.doc.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: "pk = :pk AND sk BETWEEN :from AND :to",
        ExpressionAttributeValues: { ":pk": runPk(runId), ":from": "#", ":to": "#~" },
        ConsistentRead: true,
      }),
    );
    const items = out.Items ?? [];
    const run = items.find((i) => i.sk === "#RUN") as RunItem | undefined;
    if (!run) return undefined;
    const json = (sk: string) => items.find((i) => i.sk === sk)?.json as string | undefined;
    const argsJson = run.argsRef ? json(payloadKey(runId, "ARGS").sk) : run.argsJson;
    const resultJson = run.resultRef ? json(payloadKey(runId, "RESULT").sk) : run.resultJson;
    return {
      run,
      ...(argsJson !== undefined ? { argsJson } : {}),
      ...(resultJson !== undefined ? { resultJson } : {}),
    };
  }

  /** The arguments JSON of a run (inline, or from its `#ARGS` item). */
  async argsJson(run: RunItem): Promise<string | undefined> {
    if (!run.argsRef) return run.argsJson;
    const out = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: payloadKey(run.runId, "ARGS"), ConsistentRead: true }),
    );
    return out.Item?.json as string | undefined;
  }

  /** Writes a payload item (arguments or result too large for the run item). Written once, before the run refers to it. */
  async putPayload(runId: string, part: "ARGS" | "RESULT", json: string, expiresAt?: number): Promise<void> {
    await this.doc.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { ...payloadKey(runId, part), kind: "payload", json, ...(expiresAt ? { expiresAt } : {}) },
      }),
    );
  }

  /**
   * Creates a run (its `Pending` event is inline: event 1) and, when it has a
   * deduplication id, the lock, in one transaction. Throws {@link RunConflictError} when a
   * non-terminal run of the job holds the id.
   */
  async create(run: RunItem): Promise<RunItem> {
    const item: RunItem = { ...run, seq: 1, statusInline: true };
    const put = { TableName: this.tableName, Item: item, ConditionExpression: "attribute_not_exists(pk)" };
    const dedup = run.deduplicationId;
    if (dedup === undefined) {
      await this.doc.send(new PutCommand(put));
      return item;
    }
    const items: TransactItem[] = [
      { Put: put },
      {
        Put: {
          TableName: this.tableName,
          Item: { ...dedupKey(run.jobName, dedup), kind: "dedup", runId: run.runId },
          ConditionExpression: "attribute_not_exists(pk)",
        },
      },
    ];
    for (;;) {
      const outcome = await transactWrite(this.doc, items);
      if (outcome.ok) return item;
      if (!outcome.failedConditions.includes(1)) throw new Error(`run ${run.runId} already exists`);
      const lock = await this.doc.send(
        new GetCommand({
          TableName: this.tableName,
          Key: dedupKey(run.jobName, dedup),
          ConsistentRead: true,
        }),
      );
      // The holder may have finished between our write and this read: try again.
      if (lock.Item) throw new RunConflictError(run.jobName, dedup, String(lock.Item.runId));
    }
  }

  /**
   * Commits a transition decided on `current`, conditional on its status and attempt
   * (and, for a writer that does not hold the attempt, its `seq`). The status event gets
   * the next event id: `own.lastEventId + 1` for the attempt's holder, else one past the
   * last id in the log (read here). It stays inline on the run item when it can; leaving
   * Running for a retry, or by another writer, materializes the attempt's `Running` event
   * and the new one as event items in the same transaction. A terminal transition frees
   * the deduplication lock in the same transaction.
   *
   * Returns `{ stored }`, or, when the run changed since it was read, `{ current }`: the
   * run as it now is (read back from the failed condition; `undefined` if it is gone).
   */
  async transition(
    current: RunItem,
    transition: Transition,
    own?: OwnWriter,
  ): Promise<{ stored: RunItem } | { current: RunItem | undefined }> {
    const leavingRunning = current.status === "Running" && current.startSeq !== undefined;
    const materialize = leavingRunning && (own === undefined || transition.next.status === "Pending");
    let eventId = Math.max(current.seq, own ? own.lastEventId : await this.#logEnd(current)) + 1;
    /** Slot deletes whose condition failed (another holder): left out of the next try. */
    const foreignSlots = new Set<string>();
    for (;;) {
      // `startSeq` stays: readers rebuild the attempt's Running event from it (the same
      // event as the item materialized here) and drop a stale attempt's events after it.
      const stored: RunItem = { ...transition.next, seq: eventId };
      if (materialize) delete stored.statusInline;
      else stored.statusInline = true;
      const guards = [conditions.status(current), conditions.attempt(current)];
      if (!own) guards.push(conditions.seq(current));
      const { changed: _always, ...update } = updateOf(current, stored, guards);
      const runUpdate = {
        TableName: this.tableName,
        Key: runKey(current.runId),
        ...update,
        ReturnValuesOnConditionCheckFailure: "ALL_OLD" as const,
      };
      const items: TransactItem[] = [{ Update: runUpdate }];
      if (materialize && current.startSeq !== undefined) {
        const running: RunEventBody = { type: "status", status: "Running" };
        items.push({
          Put: {
            TableName: this.tableName,
            Item: toEventItem(current.runId, current.startSeq, current.attempt, running, current.startedMs),
          },
        });
        items.push({
          Put: {
            TableName: this.tableName,
            Item: toEventItem(current.runId, eventId, current.attempt, transition.event),
            ConditionExpression: "attribute_not_exists(sk)",
          },
        });
      }
      if (isTerminal(stored.status) && !isTerminal(current.status) && stored.deduplicationId !== undefined) {
        items.push({
          Delete: {
            TableName: this.tableName,
            Key: dedupKey(stored.jobName, stored.deduplicationId),
            ConditionExpression: "attribute_not_exists(pk) OR runId = :id",
            ExpressionAttributeValues: { ":id": stored.runId },
          },
        });
      }
      const releaseFrom = items.length;
      const release = releaseItems(this.tableName, current, stored).filter(
        (item) => !foreignSlots.has(JSON.stringify(item.Delete?.Key)),
      );
      items.push(...release);
      if (items.length === 1) {
        try {
          await this.doc.send(new UpdateCommand(runUpdate));
          return { stored };
        } catch (error) {
          if (!isConditionFailed(error)) throw error;
          const item = (error as { Item?: Record<string, unknown> }).Item;
          return { current: item ? (unmarshallRun(item) as RunItem) : await this.get(current.runId) };
        }
      }
      const outcome = await transactWrite(this.doc, items);
      if (outcome.ok) return { stored };
      if (outcome.failedConditions.includes(0)) {
        return { current: outcome.currentItems.get(0) as RunItem | undefined };
      }
      const failedReleases = outcome.failedConditions.filter((i) => i >= releaseFrom);
      if (failedReleases.length > 0 && failedReleases.length === outcome.failedConditions.length) {
        for (const i of failedReleases) foreignSlots.add(JSON.stringify(items[i]?.Delete?.Key));
        continue;
      }
      if (materialize && outcome.failedConditions.includes(2)) {
        // Another writer took this event id first: take the next free one.
        eventId = Math.max(eventId, await this.lastEventId(current.runId)) + 1;
        continue;
      }
      throw new Error(`run ${current.runId}: unexpected condition failure`);
    }
  }

  /**
   * Writes data events (log, progress, output, input) from `firstId` on, one conditional
   * `PutItem` each, in order. Returns how many were written: fewer than given when an id
   * was taken by another writer (the caller re-reads the log's end and the run).
   */
  async putEvents(
    runId: string,
    attempt: number,
    firstId: number,
    bodies: readonly RunEventBody[],
  ): Promise<number> {
    for (let i = 0; i < bodies.length; i++) {
      try {
        await this.doc.send(
          new PutCommand({
            TableName: this.tableName,
            Item: toEventItem(runId, firstId + i, attempt, bodies[i] as RunEventBody),
            ConditionExpression: "attribute_not_exists(sk)",
          }),
        );
      } catch (error) {
        if (isConditionFailed(error)) return i;
        throw new EventsWriteError(i, error);
      }
    }
    return bodies.length;
  }

  /**
   * `lastEventId` for a writer that does not hold the attempt, without the query when no
   * event item can exist: before its first claim a run's status events are all inline
   * (a pipeline's input chunks are a log of their own, `streams/input-log.ts`).
   */
  async #logEnd(run: RunItem): Promise<number> {
    if (run.attempt === 0) return 0;
    return this.lastEventId(run.runId);
  }

  /** The highest event id stored as an event item (0 if none; inline status events are on the run). */
  async lastEventId(runId: string): Promise<number> {
    const out = await this.doc.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: "pk = :pk AND sk BETWEEN :from AND :to",
        ExpressionAttributeValues: { ":pk": runPk(runId), ":from": eventSk(0), ":to": lastEventSk },
        ProjectionExpression: "eventId",
        ScanIndexForward: false,
        Limit: 1,
        ConsistentRead: true,
      }),
    );
    return Number(out.Items?.[0]?.eventId ?? 0);
  }

  /** Events of a run with `eventId > sinceEventId`, in order, as committed now (see `event-log.ts`). */
  events(runId: string, sinceEventId = 0): AsyncIterable<RunEvent> {
    return readEvents(this, runId, sinceEventId);
  }

  /** The last log lines and progress of a run's current attempt (see `event-log.ts`). */
  tail(run: RunItem): Promise<RunTail> {
    return readTail(this, run);
  }

  /** Runs a query and pages through every result. */
  async *query<T = RunItem>(
    input: Omit<ConstructorParameters<typeof QueryCommand>[0], "TableName">,
  ): AsyncIterable<T> {
    let startKey: Record<string, unknown> | undefined;
    do {
      const out = await this.doc.send(
        new QueryCommand({ ...input, TableName: this.tableName, ExclusiveStartKey: startKey }),
      );
      for (const item of out.Items ?? []) yield item as T;
      startKey = out.LastEvaluatedKey;
    } while (startKey);
  }

  /** Writes (or overwrites) a job record. */
  async putJob(job: JobRecord): Promise<void> {
    await this.doc.send(
      new PutCommand({ TableName: this.tableName, Item: { ...jobKey(job.name), kind: "job", ...job } }),
    );
  }

  /** Reads a job record. */
  async getJob(name: string): Promise<JobRecord | undefined> {
    const out = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: jobKey(name) }));
    return out.Item as JobRecord | undefined;
  }

  /** The names of every job with a record. */
  async jobNames(): Promise<string[]> {
    const names: string[] = [];
    for await (const item of this.query<{ name: string }>({
      KeyConditionExpression: "pk = :pk",
      ExpressionAttributeValues: { ":pk": jobsPk },
      ProjectionExpression: "#n",
      ExpressionAttributeNames: { "#n": "name" },
    })) {
      names.push(item.name);
    }
    return names;
  }

  /** Records that worker `workerId` is alive at `beatMs` (its item expires by TTL after `ttlSeconds`). */
  async putHeartbeat(workerId: string, beatMs: number, ttlSeconds: number): Promise<void> {
    await this.doc.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          ...workerKey(workerId),
          kind: "worker",
          workerId,
          beatMs,
          expiresAt: Math.ceil(beatMs / 1000) + ttlSeconds,
        },
      }),
    );
  }

  /** Reads a worker's last heartbeat (strongly consistent). */
  async getHeartbeat(workerId: string): Promise<Heartbeat | undefined> {
    const out = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: workerKey(workerId), ConsistentRead: true }),
    );
    return out.Item ? { workerId, beatMs: Number(out.Item.beatMs) } : undefined;
  }
}

/** The stored event item type, for modules that read the stream. */
export type { EventItem };

/** The item a failed single-item condition returns (`ALL_OLD`): marshalled (the document client leaves errors as they are). */
function unmarshallRun(item: Record<string, unknown>): unknown {
  return unmarshall(item as Record<string, AttributeValue>);
}
