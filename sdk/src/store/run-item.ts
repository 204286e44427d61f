/**
 * The run item as stored, and its conversion to the public {@link JobRun}.
 *
 * The run item is small (under 1 KB for a typical run): it is written on every
 * transition and billed per started KB, so payloads live elsewhere. Arguments and
 * results of up to {@link inlinePayloadBytes} stay inline as JSON text; larger ones
 * live in their own item (`#ARGS`, `#RESULT`), written once and read once. Log lines
 * and progress are events, never copied onto the run.
 *
 * The run item also carries its status events inline (invariant 1 without a second
 * item): event 1 is always the creation's `Pending`; `startSeq` is the latest attempt's
 * `Running` event (also stored as an event item once the attempt ended by a retry or by
 * another writer); with `statusInline`, the status event at `seq` is this item's status.
 * Status events that can no longer be rebuilt from the item (an earlier attempt's
 * `Running`, a retry's `Pending`, a status written by another writer while a worker held
 * the run) are event items, written in the same transaction (see `run-store.ts`).
 */
import type { JobRun, RunError, RunStatus, WaitingFor } from "../domain/run.js";
import type { RunEvent, RunEventBody } from "../domain/run-event.js";

/** Largest argument or result JSON kept on the run item, in bytes (UTF-8); larger ones get their own item. */
export const inlinePayloadBytes = 512;

/** Attributes of a run item (keys and index attributes included). Times are epoch ms. */
export interface RunItem {
  pk: string;
  sk: string;
  kind: "run";
  runId: string;
  jobName: string;
  status: RunStatus;
  attempt: number;
  /** Arguments as JSON, when at most {@link inlinePayloadBytes}. */
  argsJson?: string;
  /** The arguments are in the `#ARGS` item. */
  argsRef?: boolean;
  /** The arguments hold streamed (pipeline) inputs. */
  hasInputs?: boolean;
  resultJson?: string;
  /** The result is in the `#RESULT` item. */
  resultRef?: boolean;
  /** A streaming run whose items exceed the result limit: its result is its final attempt's output events. */
  resultInEvents?: boolean;
  /** The last failed attempt's error, capped (see `worker/errors-to-record.ts`). */
  error?: RunError;
  priority: number;
  queue: string;
  /** Its queue's priority when not 0, as known at creation: the run's lane band is the queue's then. */
  queuePriority?: number;
  notBeforeMs?: number;
  notAfterMs?: number;
  deduplicationId?: string;
  parentRunId?: string;
  /** The parent's attempt that created this run (a child of a retried attempt never starts; see `domain/lineage.ts`). */
  parentAttempt?: number;
  /** The latest attempt that created children, recorded before its first child (a run without it has no children to cancel). */
  spawnedAttempt?: number;
  /**
   * Set once on a Succeeded run that has children when a cascade cancel reached it: why
   * its descendants are canceled (`run <id> ended Canceled`). Its status stays.
   */
  descendantsCanceled?: string;
  rootRunId: string;
  /** The batch this run is a child of, and its ordinal there (commit order). */
  batchId?: string;
  batchOrdinal?: number;
  rerunOfRunId?: string;
  createdMs: number;
  startedMs?: number;
  completedMs?: number;
  /** The worker holding (or that last held) the run. */
  workerId?: string;
  /**
   * A Lambda holder's deadline (epoch ms): past it plus a margin, Lambda itself has
   * stopped the invocation, so the run may be recovered. Container holders prove they are
   * alive by their heartbeat item instead.
   */
  holdUntilMs?: number;
  cancelReason?: string;
  /** Why the status at `seq` was entered (retry, lease expired, ...), for its inline event. */
  statusReason?: string;
  /** Final progress, written with the terminal status (while running, progress is read from events). */
  progress?: number;
  /** The handler wrote log lines (so readers look for them in the events). */
  logged?: boolean;
  /** Id of the latest status event. */
  seq: number;
  /** Id of the latest attempt's `Running` event (rebuilt from `startedMs`; materialized too once that attempt was retried or ended by another writer). */
  startSeq?: number;
  /** The status event at `seq` is rebuilt from this item (not an event item). */
  statusInline?: boolean;
  /**
   * How many times stopping workers handed the run back (`Running → Pending` without a
   * failure): `attempt` counts claims, so failed attempts are `attempt - handBacks`.
   */
  handBacks?: number;
  /** How many wake-up messages were counted for this run (part of each message's deduplication id). */
  enqueueCount: number;
  /** The attempt count (`attempt`) whose wake-up message a timer sends (see `timer/timer-port.ts`). */
  timerRelease?: number;
  /** An expiry timer was scheduled at trigger time; cleared by the first claim, which deletes it. */
  timerExpiry?: boolean;
  /** Someone subscribed to this run's events over the WebSocket API (the fanout looks up subscribers only then). */
  watched?: boolean;
  /**
   * The concurrency slots a Running run holds (taken in its claim's transaction; freed in
   * the transaction that makes it leave Running: terminal, retry, hand-back, recovery).
   */
  slots?: SlotRef[];
  /** Rate permits counted for a woken run before its claim (its wake's reservation; see `limits/waiters.ts`). */
  permits?: { readonly name: string; readonly windowStart: number }[];
  /** A Pending run waiting on a limit or a paused queue: why (see `limits/`). */
  waitingFor?: WaitingFor;
  /** The limit key whose waiter list holds the run, and its waiter item's sort key. */
  waitKey?: string;
  waitSk?: string;
  /** The waiter item's partition key, in a sharded waiter list only (else `LIMIT#<waitKey>`). */
  waitPk?: string;
  /** Epoch seconds after which DynamoDB TTL deletes a finished run. */
  expiresAt?: number;
  /** Index attributes, set once at creation (see `run-factory.ts`). */
  jobPk?: string;
  createdSk?: string;
  parentPk?: string;
  laterPk?: string;
  dueSk?: string;
}

/** A concurrency slot item's key (`LIMIT#<limitKey>` / `SLOT#<k>`, see `keys.ts`). */
export interface SlotRef {
  readonly pk: string;
  readonly sk: string;
  /** The limit's slot count when taken (whoever frees it knows whether the limit is full without the app). */
  readonly max: number;
}

/** What a snapshot needs beyond the run item: payloads and the event tail. */
export interface RunExtras {
  readonly args?: unknown;
  readonly result?: unknown;
  readonly recentLogs?: readonly string[];
  readonly progress?: number;
}

const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

/** Converts a stored run item (and what was read beside it) to the public snapshot. */
export function toJobRun<T = unknown>(item: RunItem, extras: RunExtras = {}): JobRun<T> {
  const args = item.argsJson !== undefined ? JSON.parse(item.argsJson) : extras.args;
  const hasResult = item.resultJson !== undefined || item.resultRef === true || item.resultInEvents === true;
  const result = item.resultJson !== undefined ? JSON.parse(item.resultJson) : extras.result;
  const progress =
    item.status === "Succeeded"
      ? 1
      : (item.progress ?? (item.status === "Running" ? extras.progress : 0) ?? 0);
  return {
    runId: item.runId,
    jobName: item.jobName,
    status: item.status,
    attempt: item.attempt,
    ...(item.handBacks ? { handBacks: item.handBacks } : {}),
    args,
    hasResult,
    ...(hasResult && result !== undefined ? { result: result as T } : {}),
    ...(item.error ? { error: item.error } : {}),
    priority: item.priority,
    queue: item.queue,
    ...(item.notBeforeMs !== undefined ? { notBefore: iso(item.notBeforeMs) as string } : {}),
    ...(item.notAfterMs !== undefined ? { notAfter: iso(item.notAfterMs) as string } : {}),
    ...(item.deduplicationId !== undefined ? { deduplicationId: item.deduplicationId } : {}),
    ...(item.parentRunId !== undefined ? { parentRunId: item.parentRunId } : {}),
    rootRunId: item.rootRunId,
    ...(item.batchId !== undefined
      ? { batchId: item.batchId, batchOrdinal: item.batchOrdinal as number }
      : {}),
    ...(item.rerunOfRunId !== undefined ? { rerunOfRunId: item.rerunOfRunId } : {}),
    progress,
    createdAt: iso(item.createdMs) as string,
    ...(item.startedMs !== undefined ? { startedAt: iso(item.startedMs) as string } : {}),
    ...(item.completedMs !== undefined ? { completedAt: iso(item.completedMs) as string } : {}),
    ...(item.workerId !== undefined ? { workerId: item.workerId } : {}),
    ...(item.cancelReason !== undefined ? { cancelReason: item.cancelReason } : {}),
    ...(item.waitingFor !== undefined && item.status === "Pending" ? { waitingFor: item.waitingFor } : {}),
    recentLogs: extras.recentLogs ?? [],
  };
}

/** When a Pending run is due: its `notBefore`, else its creation time (epoch ms). */
export function dueMs(item: Pick<RunItem, "notBeforeMs" | "createdMs">): number {
  return item.notBeforeMs ?? item.createdMs;
}

/** The status event at `seq`, as this item says it (for an item whose `statusInline` is set). */
export function statusEventBody(item: RunItem): RunEventBody {
  const reason = item.status === "Canceled" ? item.cancelReason : item.statusReason;
  return {
    type: "status",
    status: item.status,
    ...(reason !== undefined ? { reason } : {}),
    ...(item.status === "Failed" && item.error ? { error: item.error } : {}),
  };
}

/**
 * The status events rebuilt from the item: creation's `Pending` (id 1), the current
 * attempt's `Running` (`startSeq`) and, with `statusInline`, the status at `seq`.
 */
export function inlineEvents(item: RunItem): RunEvent[] {
  const base = { runId: item.runId };
  const events: RunEvent[] = [
    { ...base, type: "status", status: "Pending", eventId: 1, attempt: 0, at: iso(item.createdMs) as string },
  ];
  if (item.startSeq !== undefined && item.startedMs !== undefined) {
    events.push({
      ...base,
      type: "status",
      status: "Running",
      eventId: item.startSeq,
      attempt: item.attempt,
      at: iso(item.startedMs) as string,
    });
  }
  if (item.statusInline && item.seq > 1 && item.seq !== item.startSeq) {
    events.push({
      ...base,
      ...statusEventBody(item),
      eventId: item.seq,
      attempt: item.attempt,
      at: iso(item.completedMs ?? item.startedMs ?? item.createdMs) as string,
    } as RunEvent);
  }
  return events;
}
