/**
 * The one store: runs, their events, deduplication locks and job records in a single
 * DynamoDB table (DESIGN.md §3). The same code runs against AWS, LocalStack and
 * DynamoDB Local.
 *
 * Concurrency: writes are conditional on exactly the fields that decide them, built from
 * named fragments ({@link conditions}). A transition updates the changed attributes
 * only if the run's status, attempt and `eventSeq` are still what was read (and, when it
 * takes a run out of Running, its lease too), in the same transaction as the events it
 * appends (invariant 1): a lost race surfaces as `undefined`, never as a double
 * transition. Lease renewals condition on status and attempt only, so they never
 * conflict with event appends (a busy pipeline input cannot starve a worker's lease).
 * Index attributes are derived on every write ({@link withIndexKeys}), so they cannot
 * drift from the fields they index.
 */
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import type { ResolvedRetryPolicy } from "../domain/retry-policy.js";
import { isTerminal } from "../domain/run.js";
import type { RunEvent, RunEventBody } from "../domain/run-event.js";
import { RunConflictError } from "../errors.js";
import {
  createdSk,
  dedupKey,
  duePk,
  dueSk,
  dueSkUpTo,
  eventKey,
  jobKey,
  jobPk,
  parentPk,
  runKey,
  statusPk,
} from "./keys.js";
import { dueMs, type RunItem } from "./run-item.js";
import { IndexName } from "./table-definition.js";
import { pauseAfterLostRace, type TransactItem, transactWrite } from "./transact.js";

/** A piece of a condition expression with its names and values. */
interface Fragment {
  readonly expr: string;
  readonly names: Record<string, string>;
  readonly values: Record<string, unknown>;
}

/** Named condition fragments; each takes the run as read. */
const conditions: Record<
  "status" | "attempt" | "eventSeq" | "lease" | "enqueueCount",
  (run: RunItem) => Fragment
> = {
  status: (run: RunItem) => ({
    expr: "#status = :c_status",
    names: { "#status": "status" },
    values: { ":c_status": run.status },
  }),
  attempt: (run: RunItem) => ({
    expr: "#attempt = :c_attempt",
    names: { "#attempt": "attempt" },
    values: { ":c_attempt": run.attempt },
  }),
  eventSeq: (run: RunItem) => ({
    expr: "#eventSeq = :c_seq",
    names: { "#eventSeq": "eventSeq" },
    values: { ":c_seq": run.eventSeq },
  }),
  lease: (run: RunItem) => ({
    expr: "#leaseExpiresMs = :c_lease",
    names: { "#leaseExpiresMs": "leaseExpiresMs" },
    values: { ":c_lease": run.leaseExpiresMs ?? 0 },
  }),
  enqueueCount: (run: RunItem) => ({
    expr: "#enqueueCount = :c_enq",
    names: { "#enqueueCount": "enqueueCount" },
    values: { ":c_enq": run.enqueueCount },
  }),
};

/** An UpdateItem's expressions: SET/REMOVE of the attributes that differ, under the given conditions. */
function updateOf(before: RunItem, after: RunItem, guards: Fragment[]) {
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = {};
  const sets: string[] = [];
  const removes: string[] = [];
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  let i = 0;
  for (const key of keys) {
    if (key === "pk" || key === "sk") continue;
    const a = (before as unknown as Record<string, unknown>)[key];
    const b = (after as unknown as Record<string, unknown>)[key];
    if (JSON.stringify(a) === JSON.stringify(b)) continue;
    names[`#u${i}`] = key;
    if (b === undefined) removes.push(`#u${i}`);
    else {
      values[`:u${i}`] = b;
      sets.push(`#u${i} = :u${i}`);
    }
    i++;
  }
  for (const guard of guards) {
    Object.assign(names, guard.names);
    Object.assign(values, guard.values);
  }
  const clauses = [
    sets.length > 0 ? `SET ${sets.join(", ")}` : "",
    removes.length > 0 ? `REMOVE ${removes.join(", ")}` : "",
  ];
  return {
    UpdateExpression: clauses.filter(Boolean).join(" "),
    ConditionExpression: guards.map((g) => g.expr).join(" AND "),
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: values,
    changed: sets.length + removes.length > 0,
  };
}

/** An event item as stored: output and input items are kept as JSON text (`itemsJson`), so they round-trip exactly. */
export interface EventItem {
  pk: string;
  sk: string;
  kind: "event";
  runId: string;
  eventId: number;
  attempt: number;
  at: string;
  body: StoredEventBody;
}

type StoredEventBody =
  | Exclude<RunEventBody, { type: "output" | "input" }>
  | { type: "output"; itemsJson: string }
  | { type: "input"; name: string; itemsJson: string };

function encodeBody(body: RunEventBody): StoredEventBody {
  if (body.type === "output") return { type: "output", itemsJson: JSON.stringify(body.items) };
  if (body.type === "input") return { type: "input", name: body.name, itemsJson: JSON.stringify(body.items) };
  return body;
}

/** Converts a stored event item to the public event. */
export function toRunEvent(item: EventItem): RunEvent {
  const { body } = item;
  const decoded: RunEventBody =
    body.type === "output"
      ? { type: "output", items: JSON.parse(body.itemsJson) }
      : body.type === "input"
        ? { type: "input", name: body.name, items: JSON.parse(body.itemsJson) }
        : body;
  return { ...decoded, runId: item.runId, eventId: item.eventId, attempt: item.attempt, at: item.at };
}

/** The job record written when workers start, so any client can check a job name. */
export interface JobRecord {
  readonly name: string;
  readonly description?: string;
  readonly tags: readonly string[];
  readonly queue: string;
  readonly priority: number;
  /** The job's retry policy, so any worker or sweep can apply it. */
  readonly retry: ResolvedRetryPolicy;
  readonly timeoutMs?: number;
  readonly hasArgsSchema: boolean;
}

/** Where the store lives. */
export interface RunStoreOptions {
  readonly doc: DynamoDBDocumentClient;
  readonly tableName: string;
}

/**
 * Derives the index attributes from the run's fields: by job, by status and by parent
 * always; the sparse due index only while the run is non-terminal (Pending by due time,
 * Running by lease expiry).
 */
export function withIndexKeys<T extends RunItem>(item: T): T {
  const next: T = {
    ...item,
    jobPk: jobPk(item.jobName),
    statusPk: statusPk(item.status),
    createdSk: createdSk(item.createdAt, item.runId),
  };
  if (item.parentRunId !== undefined) next.parentPk = parentPk(item.parentRunId);
  delete next.duePk;
  delete next.dueSk;
  if (item.status === "Pending") {
    next.duePk = duePk("Pending");
    next.dueSk = dueSk(dueMs(item), item.runId);
  } else if (item.status === "Running") {
    next.duePk = duePk("Running");
    next.dueSk = dueSk(item.leaseExpiresMs ?? 0, item.runId);
  }
  return next;
}

export class RunStore {
  readonly doc: DynamoDBDocumentClient;
  readonly tableName: string;

  constructor(options: RunStoreOptions) {
    this.doc = options.doc;
    this.tableName = options.tableName;
  }

  /** Reads a run (strongly consistent). */
  async get(runId: string): Promise<RunItem | undefined> {
    const out = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: runKey(runId), ConsistentRead: true }),
    );
    return out.Item as RunItem | undefined;
  }

  /**
   * Creates a run with its first event and, when it has a deduplication id, the lock.
   * Throws {@link RunConflictError} when a non-terminal run of the job holds the id.
   */
  async create(run: RunItem, event: RunEventBody): Promise<RunItem> {
    const item: RunItem = withIndexKeys({ ...run, eventSeq: 1 });
    const items: TransactItem[] = [
      { Put: { TableName: this.tableName, Item: item, ConditionExpression: "attribute_not_exists(pk)" } },
      { Put: { TableName: this.tableName, Item: this.#eventItem(item, 1, event) } },
    ];
    const dedup = run.deduplicationId;
    if (dedup !== undefined) {
      items.push({
        Put: {
          TableName: this.tableName,
          Item: { ...dedupKey(run.jobName, dedup), kind: "dedup", runId: run.runId },
          ConditionExpression: "attribute_not_exists(pk)",
        },
      });
    }
    for (;;) {
      const outcome = await transactWrite(this.doc, items);
      if (outcome.ok) return item;
      if (dedup === undefined || !outcome.failedConditions.includes(2)) {
        throw new Error(`run ${run.runId} already exists`);
      }
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
   * Moves the run from `current` to `next` and appends `events`, in one transaction
   * conditional on `current`'s status, attempt and `eventSeq` (and its lease, with
   * `guardLease`: a decision that rested on the lease having expired). A terminal `next`
   * frees the run's deduplication lock in the same transaction. Returns `{ stored }`, or,
   * when the run changed since it was read, `{ current }`: the run as it now is (read
   * back from the failed condition, no extra request; `undefined` if it is gone), so the
   * caller decides again.
   */
  async transition(
    current: RunItem,
    next: RunItem,
    events: readonly RunEventBody[],
    guardLease = false,
  ): Promise<{ stored: RunItem } | { current: RunItem | undefined }> {
    const firstSeq = current.eventSeq + 1;
    const stored: RunItem = withIndexKeys({ ...next, eventSeq: current.eventSeq + events.length });
    const guards = [conditions.status(current), conditions.attempt(current), conditions.eventSeq(current)];
    if (guardLease) guards.push(conditions.lease(current));
    const { changed, ...update } = updateOf(withIndexKeys(current), stored, guards);
    if (!changed) return { stored: current };
    const items: TransactItem[] = [
      {
        Update: {
          TableName: this.tableName,
          Key: runKey(current.runId),
          ...update,
          ReturnValuesOnConditionCheckFailure: "ALL_OLD",
        },
      },
      ...events.map((body, i) => ({
        Put: { TableName: this.tableName, Item: this.#eventItem(stored, firstSeq + i, body) },
      })),
    ];
    if (isTerminal(next.status) && !isTerminal(current.status) && next.deduplicationId !== undefined) {
      items.push({
        Delete: {
          TableName: this.tableName,
          Key: dedupKey(next.jobName, next.deduplicationId),
          ConditionExpression: "attribute_not_exists(pk) OR runId = :id",
          ExpressionAttributeValues: { ":id": next.runId },
        },
      });
    }
    const outcome = await transactWrite(this.doc, items);
    if (outcome.ok) return { stored };
    if (!outcome.failedConditions.includes(0))
      throw new Error(`run ${current.runId}: unexpected condition failure`);
    return { current: outcome.currentItems.get(0) as RunItem | undefined };
  }

  /**
   * Appends events to a non-terminal run without changing its status (pipeline input,
   * for instance), re-reading on lost races. Returns false when the run is missing or
   * terminal (nothing written).
   */
  async appendEvents(runId: string, events: readonly RunEventBody[]): Promise<boolean> {
    let run = await this.get(runId);
    for (let race = 0; ; race++) {
      if (!run || isTerminal(run.status)) return false;
      const outcome = await this.transition(run, run, events);
      if ("stored" in outcome) return true;
      run = outcome.current;
      await pauseAfterLostRace(race);
    }
  }

  /**
   * Extends a running run's lease (no event), conditional on its status and attempt
   * only. Returns the updated item, or `undefined` if the attempt no longer holds the run.
   */
  async renewLease(current: RunItem, leaseExpiresMs: number): Promise<RunItem | undefined> {
    const next = { ...current, leaseExpiresMs };
    return this.#update(current, next, [conditions.status(current), conditions.attempt(current)]);
  }

  /**
   * Counts one more send of the run's message (the send follows), conditional on status,
   * attempt and send count, so two sweeps never both send for the same count.
   */
  async markEnqueued(current: RunItem, enqueuedMs: number): Promise<RunItem | undefined> {
    const next = { ...current, enqueuedMs, enqueueCount: current.enqueueCount + 1 };
    return this.#update(current, next, [
      conditions.status(current),
      conditions.attempt(current),
      conditions.enqueueCount(current),
    ]);
  }

  async #update(current: RunItem, next: RunItem, guards: Fragment[]): Promise<RunItem | undefined> {
    const stored = withIndexKeys(next);
    const { changed, ...update } = updateOf(withIndexKeys(current), stored, guards);
    if (!changed) return current;
    try {
      await this.doc.send(
        new UpdateCommand({ TableName: this.tableName, Key: runKey(current.runId), ...update }),
      );
    } catch (error) {
      if ((error as Error).name === "ConditionalCheckFailedException") return undefined;
      throw error;
    }
    return stored;
  }

  /** Every direct child of a run, oldest first. */
  children(runId: string): AsyncIterable<RunItem> {
    return this.query({
      IndexName: IndexName.byParent,
      KeyConditionExpression: "parentPk = :pk",
      ExpressionAttributeValues: { ":pk": parentPk(runId) },
    });
  }

  /** Non-terminal runs in `status` whose due time (Pending) or lease expiry (Running) is at or before `uptoMs`. */
  due(status: "Pending" | "Running", uptoMs: number): AsyncIterable<RunItem> {
    return this.query({
      IndexName: IndexName.byDue,
      KeyConditionExpression: "duePk = :pk AND dueSk <= :upto",
      ExpressionAttributeValues: { ":pk": duePk(status), ":upto": dueSkUpTo(uptoMs) },
    });
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

  /** Events of a run with `eventId > sinceEventId`, in order (strongly consistent). */
  async *events(runId: string, sinceEventId = 0): AsyncIterable<RunEvent> {
    for await (const item of this.#eventItems(runId, sinceEventId)) yield toRunEvent(item);
  }

  #eventItems(runId: string, sinceEventId: number): AsyncIterable<EventItem> {
    return this.query<EventItem>({
      KeyConditionExpression: "pk = :pk AND sk BETWEEN :from AND :to",
      ExpressionAttributeValues: {
        ":pk": runKey(runId).pk,
        ":from": eventKey(runId, sinceEventId + 1).sk,
        ":to": "EVT#~",
      },
      ConsistentRead: true,
    });
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

  #eventItem(run: RunItem, eventId: number, body: RunEventBody): EventItem {
    return {
      ...eventKey(run.runId, eventId),
      kind: "event",
      runId: run.runId,
      eventId,
      attempt: run.attempt,
      at: new Date().toISOString(),
      body: encodeBody(body),
    };
  }
}
