/** Table keys of each item kind (docs/ARCHITECTURE.md, "Data model"). One place builds them all. */
import { createHash } from "node:crypto";
import { slotShard } from "../domain/limit-shards.js";

/** Width of zero-padded numbers in sort keys, so string order is numeric order. */
const pad = (n: number, width: number) => String(Math.max(0, Math.floor(n))).padStart(width, "0");

/**
 * Shards of every listing key (`JOB#<name>#<shard>`, `PARENT#<id>#<shard>`,
 * `LATER#<shard>`). A run's shard is a hash of its id, so the runs of one job (or one
 * parent) spread evenly: with 16 shards no shard holds more than about 1/10 of 200 runs,
 * and one job's index writes spread over 16 partitions (about 16,000 writes/s).
 */
export const listingShards = 16;

const idHash = (id: string) => createHash("sha1").update(id).digest();

/** The listing shard of a run: a hash of its id, `0 … listingShards - 1`. */
export function shardOf(runId: string): number {
  return idHash(runId).readUInt16BE(0) % listingShards;
}

/** The waiter shard of a run in a waiter list of `shards` shards: a hash of its id, `0 … shards - 1`. */
export function waiterShardOf(runId: string, shards: number): number {
  return idHash(runId).readUInt32BE(0) % shards;
}

/** Every shard number, for readers that merge all shards of a key. */
export const allShards: readonly number[] = Array.from({ length: listingShards }, (_, i) => i);

export const runPk = (runId: string) => `RUN#${runId}`;
/** The partition key prefix of deduplication locks (for IAM `dynamodb:LeadingKeys` conditions). */
export const dedupPkPrefix = "DEDUP#";
export const runKey = (runId: string) => ({ pk: runPk(runId), sk: "#RUN" });
/** A payload too large to stay on the run item: its arguments or its result. */
export const payloadKey = (runId: string, part: "ARGS" | "RESULT") => ({ pk: runPk(runId), sk: `#${part}` });
export const eventKey = (runId: string, seq: number) => ({ pk: runPk(runId), sk: eventSk(seq) });
export const eventSk = (seq: number) => `EVT#${pad(seq, 12)}`;
/** Upper bound of every event sort key. */
export const lastEventSk = "EVT#~";
/** A pipeline input item of run `runId`, streamed argument `name`, in order (written by the producer only). */
export const inputKey = (runId: string, name: string, seq: number) => ({
  pk: runPk(runId),
  sk: `${inputPrefix(name)}${pad(seq, 12)}`,
});
export const inputPrefix = (name: string) => `IN#${name}#`;
export const dedupKey = (jobName: string, deduplicationId: string) => ({
  pk: `${dedupPkPrefix}${jobName}#${deduplicationId}`,
  sk: "#DEDUP",
});
/**
 * Job records live in one item collection, so `getRuns()` without a job filter can list
 * the jobs whose listing shards it merges. They are written when workers start, not by
 * runs, so the constant key is never hot.
 */
export const jobsPk = "JOBS";
export const jobKey = (jobName: string) => ({ pk: jobsPk, sk: `JOB#${jobName}` });
/** A container worker's heartbeat: the lease of every run it holds. */
export const workerKey = (workerId: string) => ({ pk: `WORKER#${workerId}`, sk: "#WORKER" });

export const jobPk = (jobName: string, shard: number) => `JOB#${jobName}#${shard}`;
export const parentPk = (runId: string, shard: number) => `PARENT#${runId}#${shard}`;
export const laterPk = (shard: number) => `LATER#${shard}`;
/** Sort key by creation: ISO time then run id (run ids break ties). */
export const createdSk = (createdAt: string, runId: string) => `${createdAt}#${runId}`;
/** Sort key by a due time in epoch ms (15 digits covers dates past year 30000). */
export const dueSk = (dueMs: number, runId: string) => `${pad(dueMs, 15)}#${runId}`;
/** Upper bound for due-time range queries: every key due at or before `ms`. */
export const dueSkUpTo = (ms: number) => `${pad(ms, 15)}#~`;

/** A WebSocket subscription, found by the run it watches (fanout) ... */
export const subscriptionKey = (runId: string, connectionId: string) => ({
  pk: `SUB#${runId}`,
  sk: `CONN#${connectionId}`,
});
/** ... and by its connection (cleanup on disconnect). */
export const connectionSubscriptionKey = (connectionId: string, runId: string) => ({
  pk: connectionPk(connectionId),
  sk: `SUB#${runId}`,
});
/** A WebSocket connection opened with the API's token, beside its subscriptions. */
export const connectionGrantKey = (connectionId: string) => ({ pk: connectionPk(connectionId), sk: "#CONN" });
export const connectionPk = (connectionId: string) => `CONN#${connectionId}`;
/** Run counts of one job (or queue) by status, kept by the projections consumer. */
export const countsKey = (scope: "job" | "queue", name: string) => ({
  pk: `AGG#${scope}#${name}`,
  sk: "#COUNTS",
});
/** A stream batch the projections consumer applied (so a retried batch is not counted twice). */
export const appliedBatchKey = (shardId: string, sequenceNumber: string) => ({
  pk: `AGGB#${shardId}`,
  sk: sequenceNumber,
});

/** A batch's record, in the batch's item collection with its inputs, counters and events. */
export const batchPk = (batchId: string) => `BATCH#${batchId}`;
export const batchKey = (batchId: string) => ({ pk: batchPk(batchId), sk: "#BATCH" });
/** A chunk of a batch's inputs, by the ordinal of its first input (so a `Query` reads them in order). */
export const batchInputKey = (batchId: string, firstOrdinal: number) => ({
  pk: batchPk(batchId),
  sk: batchInputSk(firstOrdinal),
});
export const batchInputSk = (firstOrdinal: number) => `IN#${pad(firstOrdinal, 8)}`;
/** One counters shard of a batch (counts per status and the shard's event sequence). */
export const batchCounterKey = (batchId: string, shard: number) => ({
  pk: batchPk(batchId),
  sk: `CNT#${pad(shard, 2)}`,
});
/** Upper bound of the record and counter sort keys (`#BATCH` < `CNT#…` < `EVT#…` < `IN#…`). */
export const lastBatchCounterSk = "CNT#~";
/** Event `seq` of counters shard `shard` of a batch: the child status changes one stream batch applied there. */
export const batchEventKey = (batchId: string, shard: number, seq: number) => ({
  pk: batchPk(batchId),
  sk: batchEventSk(shard, seq),
});
export const batchEventSk = (shard: number, seq: number) => `EVT#${pad(shard, 2)}#${pad(seq, 10)}`;
/** The child run of a batch at `ordinal`: deterministic, so creating it again is a no-op. */
export const batchChildRunId = (batchId: string, ordinal: number) => `${batchId}-${pad(ordinal, 5)}`;

/**
 * A limit key names one concurrency or rate limit: `job#<job>`, `queue#<queue>`,
 * `key#<job>#<key>` (a `withConcurrencyKey` key), `rate#<rate limit>`. Its slots and its
 * waiters share its partitions: one, `LIMIT#<limitKey>`, for a limit of one shard, else
 * `LIMIT#<limitKey>#<shard>` (`domain/limit-shards.ts`). Slot `k` is `SLOT#<k>` in shard
 * `k mod shards`, a waiter `WAIT#<claim order>` in shard `hash(runId) mod shards`, so
 * one `Query` per shard reads its held slots and its first waiter ("S" sorts before "W").
 * Names have no `#`, and within one limit every key has the same shard count, so a shard's
 * partition key is never another limit's.
 */
export const limitPkPrefix = "LIMIT#";
export const limitPk = (limitKey: string, shard: number, shards: number) =>
  shards === 1 ? `${limitPkPrefix}${limitKey}` : `${limitPkPrefix}${limitKey}#${shard}`;
export const slotKey = (limitKey: string, k: number, shards: number) => ({
  pk: limitPk(limitKey, slotShard(k, shards), shards),
  sk: `SLOT#${pad(k, 4)}`,
});
export const slotSkPrefix = "SLOT#";
export const waiterSkPrefix = "WAIT#";
/** The limit key of a `LIMIT#…` partition key of a limit with `shards` shards. */
export function limitKeyOf(pk: string, shards: number): string {
  const rest = pk.slice(limitPkPrefix.length);
  return shards === 1 ? rest : rest.slice(0, rest.lastIndexOf("#"));
}
/**
 * A waiter's sort key: claim order, earliest first. Priorities (−1,000,000 … 1,000,000)
 * are inverted (`1,000,000 − p`, 7 digits) so a higher one sorts first; then due time and
 * creation time in epoch ms (15 digits), then the run id.
 */
export const waiterSk = (
  queuePriority: number,
  priority: number,
  dueMs: number,
  createdMs: number,
  runId: string,
) =>
  `${waiterSkPrefix}${pad(1_000_000 - queuePriority, 7)}#${pad(1_000_000 - priority, 7)}#${pad(dueMs, 15)}#${pad(createdMs, 15)}#${runId}`;
/**
 * Queue records (definitions written at registration, `paused` at run time) live in one
 * item collection, so a worker reads every queue's pause state in one `Query`.
 */
export const queuesPk = "QUEUES";
export const queueKey = (name: string) => ({ pk: queuesPk, sk: `QUEUE#${name}` });
/**
 * A rate limit's window counters: `RATE#<name>` for a limit of one shard, else
 * `RATE#<name>#<shard>`; one item per window (its start in epoch ms), the count of
 * starts the shard admitted in it.
 */
const ratePkPrefix = "RATE#";
export const ratePk = (name: string, shard: number, shards: number) =>
  shards === 1 ? `${ratePkPrefix}${name}` : `${ratePkPrefix}${name}#${shard}`;
export const rateWindowKey = (pk: string, windowStartMs: number) => ({
  pk,
  sk: `W#${pad(windowStartMs, 15)}`,
});
