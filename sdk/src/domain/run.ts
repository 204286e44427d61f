/**
 * The run: one execution of a job, from trigger to terminal status.
 *
 * State machine (every arrow is one conditional DynamoDB transaction that also appends
 * a status event to the run's log; see `store/run-store.ts`):
 *
 * ```
 *            claim (attempt+1)            succeed
 * Pending ─────────────────────▶ Running ─────────▶ Succeeded
 *   ▲  │                           │ │
 *   │  │ cancel / notAfter expiry  │ │ fail, no retries left ─▶ Failed
 *   │  ▼                           │ │
 *   │ Canceled ◀──── cancel ───────┘ │
 *   └──────── fail, retries left ────┘  (notBefore = now + backoff)
 * ```
 */

/** The five statuses. `Succeeded`, `Canceled` and `Failed` are terminal and never change. */
export type RunStatus = "Pending" | "Running" | "Succeeded" | "Canceled" | "Failed";

/** All statuses, in lifecycle order. */
export const runStatuses: readonly RunStatus[] = ["Pending", "Running", "Succeeded", "Canceled", "Failed"];

/** Whether a status is terminal (`Succeeded`, `Canceled`, `Failed`). */
export function isTerminal(status: RunStatus): boolean {
  return status === "Succeeded" || status === "Canceled" || status === "Failed";
}

/** An error recorded on a run: the error's class name, message and stack. */
export interface RunError {
  readonly type: string;
  readonly message: string;
  readonly stack?: string;
}

/** A JSON value: what arguments and results are made of. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/**
 * A snapshot of a run. Times are ISO 8601 strings in UTC.
 */
export interface JobRun<TResult = unknown> {
  readonly runId: string;
  readonly jobName: string;
  readonly status: RunStatus;
  /** Executions started so far: 0 before the first claim, 1 during the first attempt. */
  readonly attempt: number;
  /**
   * Attempts a stopping worker handed back unfinished (not failures: they consume no
   * retry). Present only when there were some; failed attempts are `attempt - handBacks`.
   */
  readonly handBacks?: number;
  readonly args: unknown;
  /** Present only when the run succeeded and its handler returned a value (`null` included). */
  readonly result?: TResult;
  /** Whether the run has a result (a handler that returns nothing has none). */
  readonly hasResult: boolean;
  /** The last failed attempt's error, or why the run was canceled. */
  readonly error?: RunError;
  readonly priority: number;
  readonly queue: string;
  readonly notBefore?: string;
  readonly notAfter?: string;
  readonly deduplicationId?: string;
  readonly parentRunId?: string;
  readonly rootRunId: string;
  /** The batch this run is a child of. */
  readonly batchId?: string;
  /** Its position in the batch: commit order, from 0. */
  readonly batchOrdinal?: number;
  readonly rerunOfRunId?: string;
  /** 0..1, as last reported by the handler. Resets to 0 on retry; 1 after success. */
  readonly progress: number;
  readonly createdAt: string;
  readonly startedAt?: string;
  readonly completedAt?: string;
  /** The worker holding (or that last held) the run. */
  readonly workerId?: string;
  /** Why the run was canceled, when it was. */
  readonly cancelReason?: string;
  /**
   * A Pending run that could not start when a worker claimed it: what it waits for. It
   * starts, in claim order, when a slot frees, a rate window opens or its queue resumes.
   */
  readonly waitingFor?: WaitingFor;
  /** The last log lines the handler wrote (at most 20). */
  readonly recentLogs: readonly string[];
}

/** Why a Pending run waits (`JobRun.waitingFor`). */
export type WaitingFor = "job limit" | "queue limit" | "key limit" | "rate limit" | "queue paused";
