/**
 * A batch's counts per status and its event log, kept by the stream dispatch consumer
 * from its children's records, never by the children's own transitions: no item takes
 * every child's terminal write.
 *
 * A child at ordinal `o` belongs to counters shard `o % shards` (up to 16 per batch).
 * For each batch and shard a stream batch touches, one transaction:
 *
 * - `Put` a marker of the stream batch for this batch (`attribute_not_exists`), so a
 *   stream batch handed over again is not applied twice;
 * - `Update CNT#<shard>`: `ADD` -1 to each old status and +1 to each new one, `seq + 1`,
 *   conditional on `seq` as read (two consumers of different stream shards may write one
 *   counter: the loser reads again);
 * - `Put EVT#<shard>#<seq + 1>`: the status changes applied (ordinal, status, attempt,
 *   time), `attribute_not_exists`.
 *
 * So the event log has one item per stream batch and shard, not per child event; each
 * shard's `seq` has no gap (the counter and its event commit together), and one child's
 * changes are in order (they come from one stream shard, in order). A batch's event ids
 * are cursors over all its shards (`batch-events.ts`).
 *
 * Cost per stream batch and batch: 2 WU for the marker plus 2 WU per shard touched for
 * the counter and 2 WU per KB for its event item (an entry is about 40 bytes).
 */
import { runImages, type StreamRecords } from "../dispatch/wake-ups.js";
import type { RunStatus } from "../domain/run.js";
import type { BatchEventEntry } from "../store/batch-record.js";
import { shardOfOrdinal } from "../store/batch-record.js";
import { appliedBatchKey, batchCounterKey, batchEventKey } from "../store/keys.js";
import type { RunStore } from "../store/run-store.js";
import { pauseAfterLostRace, type TransactItem, transactWrite } from "../store/transact.js";
import { readBatchProgress } from "./batch-events.js";

/** How long a stream batch marker is kept, in seconds (longer than a stream record lives: 24 h). */
const markerTtlSeconds = 2 * 24 * 3600;

/** The changes of one shard in one stream batch. */
interface ShardChanges {
  readonly deltas: Partial<Record<RunStatus, number>>;
  readonly entries: BatchEventEntry[];
}

/** Child status changes in a stream batch, by batch id and ordinal (shards are assigned once the batch's shard count is known). */
function changesOf(
  event: StreamRecords,
): Map<string, { ordinal: number; old?: RunStatus; entry: BatchEventEntry }[]> {
  const byBatch = new Map<string, { ordinal: number; old?: RunStatus; entry: BatchEventEntry }[]>();
  for (const record of event.Records) {
    const { old, new: next } = runImages(record);
    const run = next ?? old;
    if (!run || run.batchId === undefined || run.batchOrdinal === undefined) continue;
    if (!next || old?.status === next.status) continue; // a TTL delete or no status change
    const list = byBatch.get(run.batchId) ?? [];
    list.push({
      ordinal: run.batchOrdinal,
      ...(old ? { old: old.status } : {}),
      entry: {
        o: run.batchOrdinal,
        status: next.status,
        attempt: next.attempt,
        atMs: next.completedMs ?? next.startedMs ?? next.createdMs,
      },
    });
    byBatch.set(run.batchId, list);
  }
  return byBatch;
}

/** Builds the handler: applies each stream batch's child status changes to their batches' counters, once. */
export function createBatchCountersHandler(store: RunStore, now: () => number = Date.now) {
  return async (event: StreamRecords): Promise<{ batches: number }> => {
    const first = event.Records[0]?.dynamodb?.SequenceNumber;
    const last = event.Records.at(-1)?.dynamodb?.SequenceNumber;
    const byBatch = changesOf(event);
    if (byBatch.size === 0 || !first || !last) return { batches: 0 };
    for (const [batchId, changes] of byBatch) {
      const progress = await readBatchProgress(store, batchId);
      if (!progress) continue; // purged
      const batch = progress.record;
      const shards = new Map<number, ShardChanges>();
      for (const change of changes) {
        const shard = shardOfOrdinal(change.ordinal, batch.shards);
        const entry = shards.get(shard) ?? { deltas: {}, entries: [] };
        if (change.old) entry.deltas[change.old] = (entry.deltas[change.old] ?? 0) - 1;
        entry.deltas[change.entry.status] = (entry.deltas[change.entry.status] ?? 0) + 1;
        entry.entries.push(change.entry);
        shards.set(shard, entry);
      }
      await apply(store, batchId, shards, appliedBatchKey(first, `${last}#${batchId}`), now, progress.seqs);
    }
    return { batches: byBatch.size };
  };
}

/** Commits one batch's shard changes with the stream batch's marker; on a lost `seq` race reads again. */
async function apply(
  store: RunStore,
  batchId: string,
  shards: ReadonlyMap<number, ShardChanges>,
  marker: { pk: string; sk: string },
  now: () => number,
  seqsAsRead: readonly number[],
): Promise<void> {
  for (let race = 0; ; race++) {
    const seqs = race === 0 ? seqsAsRead : ((await readBatchProgress(store, batchId))?.seqs ?? []);
    const items: TransactItem[] = [
      {
        Put: {
          TableName: store.tableName,
          Item: { ...marker, kind: "appliedBatch", expiresAt: Math.floor(now() / 1000) + markerTtlSeconds },
          ConditionExpression: "attribute_not_exists(pk)",
        },
      },
    ];
    for (const [shard, changes] of shards) {
      const seen = seqs[shard] || undefined;
      const seq = (seen ?? 0) + 1;
      const entries = Object.entries(changes.deltas).filter(([, n]) => n !== 0);
      items.push(
        {
          Update: {
            TableName: store.tableName,
            Key: batchCounterKey(batchId, shard),
            UpdateExpression: `SET #kind = :kind, #shard = :shard, #seq = :seq${entries.length > 0 ? ` ADD ${entries.map((_, j) => `#s${j} :d${j}`).join(", ")}` : ""}`,
            ConditionExpression: seen === undefined ? "attribute_not_exists(#seq)" : "#seq = :seen",
            ExpressionAttributeNames: {
              "#kind": "kind",
              "#shard": "shard",
              "#seq": "seq",
              ...Object.fromEntries(entries.map(([s], j) => [`#s${j}`, s])),
            },
            ExpressionAttributeValues: {
              ":kind": "batchCounter",
              ":shard": shard,
              ":seq": seq,
              ...(seen === undefined ? {} : { ":seen": seen }),
              ...Object.fromEntries(entries.map(([, n], j) => [`:d${j}`, n])),
            },
          },
        },
        {
          Put: {
            TableName: store.tableName,
            Item: {
              ...batchEventKey(batchId, shard, seq),
              kind: "batchEvents",
              shard,
              seq,
              entries: changes.entries,
            },
            ConditionExpression: "attribute_not_exists(pk)",
          },
        },
      );
    }
    const outcome = await transactWrite(store.doc, items);
    if (outcome.ok || outcome.failedConditions.includes(0)) return; // applied now, or before
    await pauseAfterLostRace(race);
  }
}
