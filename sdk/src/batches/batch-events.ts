/**
 * Reading a batch: its progress (record and counters, one strongly consistent `Query`)
 * and its event log, by a cursor over its counter shards.
 *
 * Event ids are opaque strings: the cursor after the event, one position per shard
 * (items fully read, and entries read of the next one). Resuming from an id reads each
 * shard from its position, so nothing is skipped or repeated. Events of different shards
 * are merged by commit time; one child's events are always in one shard, in order.
 */
import { createHash } from "node:crypto";
import { QueryCommand } from "@aws-sdk/lib-dynamodb";
import { type RunStatus, runStatuses } from "../domain/run.js";
import { ValidationError } from "../errors.js";
import type {
  BatchCounts,
  BatchEventEntry,
  BatchEventItem,
  BatchRecord,
  CounterItem,
} from "../store/batch-record.js";
import { batchChildRunId, batchEventSk, batchPk, lastBatchCounterSk } from "../store/keys.js";
import type { RunStore } from "../store/run-store.js";

/** A batch's record and counters as read together. */
export interface BatchProgress {
  readonly record: BatchRecord;
  readonly counts: BatchCounts;
  /** Each shard's event `seq` (0: none yet). */
  readonly seqs: readonly number[];
  /** Children that reached a terminal status. */
  readonly terminal: number;
}

/** Reads a batch's record and counters in one strongly consistent `Query` (`undefined`: no such batch). */
export async function readBatchProgress(
  store: RunStore,
  batchId: string,
): Promise<BatchProgress | undefined> {
  const out = await store.doc.send(
    new QueryCommand({
      TableName: store.tableName,
      KeyConditionExpression: "pk = :pk AND sk <= :to",
      ExpressionAttributeValues: { ":pk": batchPk(batchId), ":to": lastBatchCounterSk },
      ConsistentRead: true,
    }),
  );
  const items = out.Items ?? [];
  const record = items.find((i) => i.sk === "#BATCH") as BatchRecord | undefined;
  if (!record) return undefined;
  const counts = Object.fromEntries(runStatuses.map((s) => [s, 0])) as BatchCounts;
  const seqs = Array.from({ length: record.shards }, () => 0);
  for (const item of items.filter((i) => i.kind === "batchCounter") as CounterItem[]) {
    for (const status of runStatuses) counts[status] += Number(item[status] ?? 0);
    seqs[item.shard] = item.seq;
  }
  return { record, counts, seqs, terminal: counts.Succeeded + counts.Failed + counts.Canceled };
}

/** Whether every child was created and reached a terminal status. */
export const isComplete = (progress: BatchProgress) =>
  progress.record.createdCount >= progress.record.total && progress.terminal >= progress.record.total;

/**
 * A child's status change, as `observeBatchEvents` yields it.
 * @example
 * ```ts
 * // { eventId: "b1:5f3c09a1:3.1-2", batchId, runId: "<batchId>-00042", ordinal: 42, status: "Succeeded", attempt: 1, at: "2026-12-03T08:00:00.000Z" }
 * ```
 */
export interface BatchEvent {
  /** Resume after this event with `sinceEventId: eventId` (opaque). */
  readonly eventId: string;
  readonly batchId: string;
  readonly runId: string;
  /** The child's ordinal (commit order, from 0). */
  readonly ordinal: number;
  readonly status: RunStatus;
  readonly attempt: number;
  /** When the change was committed (ISO 8601). */
  readonly at: string;
}

/** Per shard: event items fully read, and entries read of the next one. */
type Cursor = { items: number; entries: number }[];

const cursorPrefix = "b1:";

/**
 * The batch's mark in its event ids (8 hex digits of the SHA-256 of its id), so an id of
 * one batch is refused by another instead of resuming it at a position that means nothing.
 */
const batchTag = (batchId: string) => createHash("sha256").update(batchId).digest("hex").slice(0, 8);

/**
 * Parses an event id of batch `batchId` (or none: the start) for its `shards` shards.
 * @throws {@link ValidationError} the id is not one of this batch's (made up, or another batch's).
 */
export function parseCursor(eventId: string | undefined, batchId: string, shards: number): Cursor {
  const start = () => Array.from({ length: shards }, () => ({ items: 0, entries: 0 }));
  if (eventId === undefined || eventId === "") return start();
  const ours = `${cursorPrefix}${batchTag(batchId)}:`;
  const parts =
    typeof eventId === "string" && eventId.startsWith(ours) ? eventId.slice(ours.length).split(".") : [];
  const cursor = parts.map((part) => {
    const [items, entries = "0"] = part.split("-");
    return { items: Number(items), entries: Number(entries) };
  });
  const valid =
    cursor.length === shards &&
    cursor.every(
      (c) => Number.isInteger(c.items) && c.items >= 0 && Number.isInteger(c.entries) && c.entries >= 0,
    );
  if (!valid)
    throw new ValidationError(
      "options.sinceEventId",
      `${JSON.stringify(eventId)} is not an event id of this batch`,
    );
  return cursor;
}

/** The event id of a batch's position `cursor` (what {@link parseCursor} reads back). */
export const formatCursor = (batchId: string, cursor: Cursor) =>
  `${cursorPrefix}${batchTag(batchId)}:${cursor.map((c) => (c.entries === 0 ? String(c.items) : `${c.items}-${c.entries}`)).join(".")}`;

/** Whether the cursor has read every event up to the shards' `seqs`. */
export const readUpTo = (cursor: Cursor, seqs: readonly number[]) =>
  cursor.every((c, shard) => c.items >= (seqs[shard] ?? 0));

/**
 * The events after `cursor` up to the shards' `seqs`, merged by commit time, each with its
 * id; advances `cursor` as it yields.
 */
export async function* readBatchEvents(
  store: RunStore,
  batchId: string,
  cursor: Cursor,
  seqs: readonly number[],
): AsyncIterable<BatchEvent> {
  const pending: { shard: number; entries: BatchEventEntry[]; item: number; skip: number }[][] = [];
  for (const [shard, position] of cursor.entries()) {
    const seq = seqs[shard] ?? 0;
    pending[shard] = [];
    if (seq <= position.items) continue;
    const items = store.query<BatchEventItem>({
      KeyConditionExpression: "pk = :pk AND sk BETWEEN :from AND :to",
      ExpressionAttributeValues: {
        ":pk": batchPk(batchId),
        ":from": batchEventSk(shard, position.items + 1),
        ":to": batchEventSk(shard, seq),
      },
      ConsistentRead: true,
    });
    for await (const item of items) {
      const skip = item.seq === position.items + 1 ? position.entries : 0;
      pending[shard]?.push({ shard, entries: item.entries, item: item.seq, skip });
    }
  }
  // Merge: the head entry of each shard, earliest commit first.
  const heads = pending.map(() => ({ item: 0, entry: 0 }));
  for (const [shard, items] of pending.entries())
    if (items[0]) heads[shard] = { item: 0, entry: items[0].skip };
  for (;;) {
    let best: number | undefined;
    let bestAt = Number.POSITIVE_INFINITY;
    for (const [shard, items] of pending.entries()) {
      const head = heads[shard] as { item: number; entry: number };
      const entry = items[head.item]?.entries[head.entry];
      if (entry && entry.atMs < bestAt) {
        best = shard;
        bestAt = entry.atMs;
      }
    }
    if (best === undefined) return;
    const items = pending[best] as { entries: BatchEventEntry[]; item: number }[];
    const head = heads[best] as { item: number; entry: number };
    const current = items[head.item] as { entries: BatchEventEntry[]; item: number };
    const entry = current.entries[head.entry] as BatchEventEntry;
    head.entry++;
    const position = cursor[best] as { items: number; entries: number };
    if (head.entry >= current.entries.length) {
      position.items = current.item;
      position.entries = 0;
      head.item++;
      head.entry = 0;
    } else {
      position.items = current.item - 1;
      position.entries = head.entry;
    }
    yield {
      eventId: formatCursor(batchId, cursor),
      batchId,
      runId: batchChildRunId(batchId, entry.o),
      ordinal: entry.o,
      status: entry.status,
      attempt: entry.attempt,
      at: new Date(entry.atMs).toISOString(),
    };
  }
}
