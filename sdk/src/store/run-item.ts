/**
 * The run item as stored, and its conversion to the public {@link JobRun}.
 * Arguments and results are stored as JSON text, so they round-trip exactly.
 */
import type { JobRun, RunError, RunStatus } from "../domain/run.js";

/** Attributes of a run item (keys and index attributes included). */
export interface RunItem {
  pk: string;
  sk: string;
  kind: "run";
  runId: string;
  jobName: string;
  status: RunStatus;
  attempt: number;
  argsJson?: string;
  resultJson?: string;
  /** A streaming run whose items exceed the result limit: its result is its final attempt's output events. */
  resultInEvents?: boolean;
  error?: RunError;
  priority: number;
  queue: string;
  notBeforeMs?: number;
  notAfterMs?: number;
  deduplicationId?: string;
  parentRunId?: string;
  rootRunId: string;
  rerunOfRunId?: string;
  progress: number;
  createdAt: string;
  createdMs: number;
  startedAt?: string;
  completedAt?: string;
  workerId?: string;
  leaseExpiresMs?: number;
  cancelReason?: string;
  recentLogs: string[];
  /** Sequence number of the last event appended to this run's log. */
  eventSeq: number;
  /** How many times a message for this run was sent to a lane. */
  enqueueCount: number;
  /** When the last message was sent (epoch ms); for a timer release, when the timer is due to send it. */
  enqueuedMs?: number;
  /** The attempt count (`attempt`) whose wake-up message a timer sends (see `timer/timer-port.ts`). */
  timerRelease?: number;
  /** An expiry timer was scheduled at trigger time; cleared by the first claim, which deletes it. */
  timerExpiry?: boolean;
  /** Index attributes: derived on every write by `withIndexKeys`, never set by hand. */
  jobPk?: string;
  statusPk?: string;
  createdSk?: string;
  parentPk?: string;
  duePk?: string;
  dueSk?: string;
}

/** Converts a stored run item to the public snapshot. */
export function toJobRun<T = unknown>(item: RunItem): JobRun<T> {
  return {
    runId: item.runId,
    jobName: item.jobName,
    status: item.status,
    attempt: item.attempt,
    args: item.argsJson === undefined ? undefined : JSON.parse(item.argsJson),
    hasResult: item.resultJson !== undefined || item.resultInEvents === true,
    ...(item.resultJson !== undefined ? { result: JSON.parse(item.resultJson) as T } : {}),
    ...(item.error ? { error: item.error } : {}),
    priority: item.priority,
    queue: item.queue,
    ...(item.notBeforeMs !== undefined ? { notBefore: new Date(item.notBeforeMs).toISOString() } : {}),
    ...(item.notAfterMs !== undefined ? { notAfter: new Date(item.notAfterMs).toISOString() } : {}),
    ...(item.deduplicationId !== undefined ? { deduplicationId: item.deduplicationId } : {}),
    ...(item.parentRunId !== undefined ? { parentRunId: item.parentRunId } : {}),
    rootRunId: item.rootRunId,
    ...(item.rerunOfRunId !== undefined ? { rerunOfRunId: item.rerunOfRunId } : {}),
    progress: item.progress,
    createdAt: item.createdAt,
    ...(item.startedAt !== undefined ? { startedAt: item.startedAt } : {}),
    ...(item.completedAt !== undefined ? { completedAt: item.completedAt } : {}),
    ...(item.workerId !== undefined ? { workerId: item.workerId } : {}),
    ...(item.cancelReason !== undefined ? { cancelReason: item.cancelReason } : {}),
    recentLogs: item.recentLogs ?? [],
  };
}

/** When a Pending run is due: its `notBefore`, else its creation time (epoch ms). */
export function dueMs(item: Pick<RunItem, "notBeforeMs" | "createdMs">): number {
  return item.notBeforeMs ?? item.createdMs;
}
