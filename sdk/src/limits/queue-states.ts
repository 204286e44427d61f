/**
 * Queue records and pause state. Queue records live in one item collection (`QUEUES`,
 * `store/keys.ts`): definitions are written when the app is registered (without touching
 * `paused`), `paused` by `client.pauseQueue` / `resumeQueue`.
 *
 * Every claim must respect a pause, but a claim of an unlimited job must cost what it
 * did before (one `UpdateItem`, no read). So each worker caches every queue's pause
 * state for at most {@link queueStateMaxAgeMs}, read in one strongly consistent `Query`
 * (0.5–1 RU per worker per second while it claims, none while idle, never per run), and
 * `pauseQueue` returns only after that age has passed: once it returned, no worker
 * starts a run of the queue.
 */

import { GetCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { QueueNotFoundError } from "../errors.js";
import type { QueueDefinition } from "../jobs/queue-definition.js";
import { isConditionFailed } from "../store/condition-failed.js";
import { queueKey, queuesPk } from "../store/keys.js";
import type { RunStore } from "../store/run-store.js";

/** Longest a worker trusts its copy of the queues' pause state, in ms. */
export const queueStateMaxAgeMs = 1000;

/** A queue record as stored. */
export interface QueueRecord {
  readonly name: string;
  readonly priority?: number;
  readonly maxConcurrency?: number;
  readonly rateLimit?: string;
  readonly paused?: boolean;
}

/** A worker's cached view of which queues are paused. */
export class QueueStates {
  readonly #store: RunStore;
  readonly #now: () => number;
  #paused: ReadonlySet<string> = new Set();
  #readAt = Number.NEGATIVE_INFINITY;
  #reading: Promise<void> | undefined;

  constructor(store: RunStore, now: () => number = Date.now) {
    this.#store = store;
    this.#now = now;
  }

  /** Whether `queue` is paused, as read at most {@link queueStateMaxAgeMs} ago (`fresh`: read now). */
  async isPaused(queue: string, fresh = false): Promise<boolean> {
    if (fresh || this.#now() - this.#readAt >= queueStateMaxAgeMs) await this.#refresh();
    return this.#paused.has(queue);
  }

  #refresh(): Promise<void> {
    this.#reading ??= (async () => {
      try {
        const startedAt = this.#now();
        const paused = new Set<string>();
        for (const record of await readQueueRecords(this.#store, "sk, #n, paused"))
          if (record.paused) paused.add(record.name);
        this.#paused = paused;
        this.#readAt = startedAt;
      } finally {
        this.#reading = undefined;
      }
    })();
    return this.#reading;
  }
}

/** Every queue record (strongly consistent), optionally projected. */
export async function readQueueRecords(store: RunStore, projection?: string): Promise<QueueRecord[]> {
  const records: QueueRecord[] = [];
  for await (const item of store.query<QueueRecord>({
    KeyConditionExpression: "pk = :pk",
    ExpressionAttributeValues: { ":pk": queuesPk },
    ConsistentRead: true,
    ...(projection ? { ProjectionExpression: projection, ExpressionAttributeNames: { "#n": "name" } } : {}),
  }))
    records.push(item);
  return records;
}

/** Whether `name` is paused, read now (strongly consistent, 0.5 RU). */
export async function readQueuePaused(store: RunStore, name: string): Promise<boolean> {
  const out = await store.doc.send(
    new GetCommand({
      TableName: store.tableName,
      Key: queueKey(name),
      ConsistentRead: true,
      ProjectionExpression: "paused",
    }),
  );
  return out.Item?.paused === true;
}

/** Writes a queue's definition, leaving its runtime state (`paused`) as it is. */
export async function putQueueDefinition(store: RunStore, queue: QueueDefinition): Promise<void> {
  const sets = ["kind = :kind", "#n = :n", "priority = :p"];
  const removes: string[] = [];
  const values: Record<string, unknown> = { ":kind": "queue", ":n": queue.name, ":p": queue.priority };
  for (const field of ["maxConcurrency", "rateLimit"] as const) {
    if (queue[field] === undefined) removes.push(field);
    else {
      sets.push(`${field} = :${field}`);
      values[`:${field}`] = queue[field];
    }
  }
  await store.doc.send(
    new UpdateCommand({
      TableName: store.tableName,
      Key: queueKey(queue.name),
      UpdateExpression: `SET ${sets.join(", ")}${removes.length > 0 ? ` REMOVE ${removes.join(", ")}` : ""}`,
      ExpressionAttributeNames: { "#n": "name" },
      ExpressionAttributeValues: values,
    }),
  );
}

/**
 * Sets or clears a registered queue's `paused` flag; returns the queue record as it now is.
 * @throws {@link QueueNotFoundError} no queue of that name is registered.
 */
export async function setQueuePaused(store: RunStore, name: string, paused: boolean): Promise<QueueRecord> {
  try {
    const out = await store.doc.send(
      new UpdateCommand({
        TableName: store.tableName,
        Key: queueKey(name),
        UpdateExpression: paused ? "SET paused = :t" : "REMOVE paused",
        ConditionExpression: "attribute_exists(pk)",
        ...(paused ? { ExpressionAttributeValues: { ":t": true } } : {}),
        ReturnValues: "ALL_NEW",
      }),
    );
    return out.Attributes as QueueRecord;
  } catch (error) {
    if (isConditionFailed(error)) throw new QueueNotFoundError(name);
    throw error;
  }
}
