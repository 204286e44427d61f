/**
 * Run counts by status, per job and per queue: a projection of the table's stream,
 * never a counter written in the transition itself (that would make one hot item of
 * every job). The projections consumer applies each batch of run records as one
 * transaction: the count changes (`ADD`) and a marker of the batch (its first and last
 * sequence numbers, `attribute_not_exists`), so a batch the event source mapping retries
 * after it was applied is not counted twice. With the mapping's batching window, one
 * transaction covers every run that changed in the window: the counts cost a few writes
 * per window, not per run.
 *
 * Counts are exact for runs created after the consumer started; a run deleted by TTL
 * leaves its terminal count (`REMOVE` records count down).
 */
import { GetCommand } from "@aws-sdk/lib-dynamodb";
import { runImages, type StreamRecords } from "../dispatch/wake-ups.js";
import { type RunStatus, runStatuses } from "../domain/run.js";
import { appliedBatchKey, countsKey } from "../store/keys.js";
import type { RunStore } from "../store/run-store.js";
import { type TransactItem, transactWrite } from "../store/transact.js";

/** Runs in each status. */
export type RunCounts = Record<RunStatus, number>;

/** How long a batch marker is kept, in seconds (longer than a stream record lives: 24 h). */
const markerTtlSeconds = 2 * 24 * 3600;
/** Most count items in one transaction (TransactWriteItems takes 100 items; one is the marker). */
const itemsPerTransaction = 99;

/** The count changes a batch of records makes, by counts item (`job` and `queue` scopes). */
export function countDeltas(
  event: StreamRecords,
): Map<string, { scope: "job" | "queue"; name: string; delta: Partial<RunCounts> }> {
  const deltas = new Map<string, { scope: "job" | "queue"; name: string; delta: Partial<RunCounts> }>();
  const add = (scope: "job" | "queue", name: string, status: RunStatus, by: number) => {
    const key = `${scope}#${name}`;
    const entry = deltas.get(key) ?? { scope, name, delta: {} };
    entry.delta[status] = (entry.delta[status] ?? 0) + by;
    deltas.set(key, entry);
  };
  for (const record of event.Records) {
    const { old, new: next } = runImages(record);
    if (old?.status === next?.status) continue;
    for (const [run, by] of [
      [old, -1],
      [next, 1],
    ] as const) {
      if (!run) continue;
      add("job", run.jobName, run.status, by);
      add("queue", run.queue, run.status, by);
    }
  }
  return deltas;
}

/** Builds the projections handler: applies each batch's count changes once. */
export function createRunCountsHandler(store: RunStore, now: () => number = Date.now) {
  return async (event: StreamRecords): Promise<{ applied: boolean; items: number }> => {
    const deltas = [...countDeltas(event).values()].filter((d) =>
      Object.values(d.delta).some((n) => n !== 0),
    );
    const first = event.Records[0]?.dynamodb?.SequenceNumber;
    const last = event.Records.at(-1)?.dynamodb?.SequenceNumber;
    if (deltas.length === 0 || !first || !last) return { applied: false, items: 0 };
    for (let i = 0; i < deltas.length; i += itemsPerTransaction) {
      const part = deltas.slice(i, i + itemsPerTransaction);
      const items: TransactItem[] = [
        {
          Put: {
            TableName: store.tableName,
            Item: {
              ...appliedBatchKey(first, `${last}#${i}`),
              kind: "appliedBatch",
              expiresAt: Math.floor(now() / 1000) + markerTtlSeconds,
            },
            ConditionExpression: "attribute_not_exists(pk)",
          },
        },
        ...part.map(({ scope, name, delta }): TransactItem => {
          const entries = Object.entries(delta).filter(([, n]) => n !== 0);
          return {
            Update: {
              TableName: store.tableName,
              Key: countsKey(scope, name),
              UpdateExpression: `SET kind = :kind ADD ${entries.map((_, j) => `#s${j} :d${j}`).join(", ")}`,
              ExpressionAttributeNames: Object.fromEntries(entries.map(([status], j) => [`#s${j}`, status])),
              ExpressionAttributeValues: {
                ":kind": "counts",
                ...Object.fromEntries(entries.map(([, n], j) => [`:d${j}`, n])),
              },
            },
          };
        }),
      ];
      const outcome = await transactWrite(store.doc, items);
      if (!outcome.ok && !outcome.failedConditions.includes(0))
        throw new Error("run counts: unexpected condition failure");
      // A failed marker condition: this part was applied before (a retried batch).
    }
    return { applied: true, items: deltas.length };
  };
}

/** Reads the run counts of a job or a queue (eventually consistent: half a read unit). */
export async function readRunCounts(
  store: RunStore,
  scope: "job" | "queue",
  name: string,
): Promise<RunCounts> {
  const out = await store.doc.send(
    new GetCommand({ TableName: store.tableName, Key: countsKey(scope, name) }),
  );
  const item = out.Item ?? {};
  return Object.fromEntries(runStatuses.map((s) => [s, Number(item[s] ?? 0)])) as RunCounts;
}
