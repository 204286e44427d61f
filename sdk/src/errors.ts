/**
 * Error types. Every error this library throws on purpose is a {@link JobSystemError};
 * each subclass sets `name` to a literal and carries the context a caller needs to act
 * on it, so `catch` blocks can branch on `instanceof` or `name`.
 */
import type { JobRun, RunStatus } from "./domain/run.js";

/** Root of every error this library throws on purpose. */
export class JobSystemError extends Error {
  override name: string = "JobSystemError";
}

/**
 * Bad input to a public call: the message names the offending value and the rule it
 * broke. Nothing was written when this is thrown.
 */
export class ValidationError extends JobSystemError {
  override name = "ValidationError" as const;
  /** Where the bad value sits, for example `args.when` or `options.priority`. */
  readonly path: string;
  constructor(path: string, message: string, options?: ErrorOptions) {
    super(`${path}: ${message}`, options);
    this.path = path;
  }
}

/** The job name is not registered (by this process or in the table). Nothing was written. */
export class JobNotFoundError extends JobSystemError {
  override name = "JobNotFoundError" as const;
  readonly jobName: string;
  /** In a batch, the index of the item that names the job. */
  readonly batchIndex?: number;
  constructor(jobName: string, batchIndex?: number) {
    super(`${batchIndex === undefined ? "" : `items[${batchIndex}]: `}job "${jobName}" is not registered`);
    this.jobName = jobName;
    if (batchIndex !== undefined) this.batchIndex = batchIndex;
  }
}

/** No run has this id (it never existed, or retention purged it). */
export class RunNotFoundError extends JobSystemError {
  override name = "RunNotFoundError" as const;
  readonly runId: string;
  constructor(runId: string) {
    super(`run "${runId}" was not found`);
    this.runId = runId;
  }
}

/** No batch has this id (it never existed, or retention purged it). */
export class BatchNotFoundError extends JobSystemError {
  override name = "BatchNotFoundError" as const;
  readonly batchId: string;
  constructor(batchId: string) {
    super(`batch "${batchId}" was not found`);
    this.batchId = batchId;
  }
}

/**
 * No queue of this name is registered: `registerJobs` (or `startLocalStack`, or the
 * deployed stack) writes a record for every queue the app defines, `default` included.
 */
export class QueueNotFoundError extends JobSystemError {
  override name = "QueueNotFoundError" as const;
  readonly queue: string;
  constructor(queue: string) {
    super(`queue "${queue}" is not registered (registerJobs writes the app's queues)`);
    this.queue = queue;
  }
}

/**
 * A trigger used a deduplication id that a non-terminal run of the same job holds.
 * Nothing was written; `existingRunId` is the run holding the id.
 */
export class RunConflictError extends JobSystemError {
  override name = "RunConflictError" as const;
  readonly jobName: string;
  readonly deduplicationId: string;
  readonly existingRunId: string;
  /** In a batch, the index of the item whose deduplication id is held (nothing of the batch was written). */
  readonly batchIndex?: number;
  constructor(jobName: string, deduplicationId: string, existingRunId: string, batchIndex?: number) {
    super(
      `${batchIndex === undefined ? "" : `items[${batchIndex}]: `}job "${jobName}" already has an active run ${existingRunId} with deduplication id "${deduplicationId}"`,
    );
    this.jobName = jobName;
    this.deduplicationId = deduplicationId;
    this.existingRunId = existingRunId;
    if (batchIndex !== undefined) this.batchIndex = batchIndex;
  }
}

/** A run ended without success (Failed or Canceled) while the caller awaited its result. */
export class JobRunError extends JobSystemError {
  override name = "JobRunError" as const;
  /** The terminal run, as last read. */
  readonly run: JobRun;
  readonly status: RunStatus;
  constructor(run: JobRun) {
    const why = run.error
      ? `: ${run.error.type}: ${run.error.message}`
      : run.cancelReason
        ? `: ${run.cancelReason}`
        : "";
    super(`run ${run.runId} of job "${run.jobName}" ended ${run.status}${why}`);
    this.run = run;
    this.status = run.status;
  }
}

/** The run succeeded without a result (its handler returned nothing) and the caller asked for one. */
export class RunHasNoResultError extends JobSystemError {
  override name = "RunHasNoResultError" as const;
  readonly runId: string;
  constructor(runId: string) {
    super(`run ${runId} succeeded without a result (its handler returned nothing)`);
    this.runId = runId;
  }
}

/** An attempt ran past its job's timeout. Recorded as a failed attempt; the retry policy applies. */
export class JobTimeoutError extends JobSystemError {
  override name = "JobTimeoutError" as const;
  readonly timeoutMs: number;
  constructor(timeoutMs: number) {
    super(`attempt timed out after ${timeoutMs} ms`);
    this.timeoutMs = timeoutMs;
  }
}

/**
 * Thrown by a handler to fail the run at once, whatever retries remain.
 *
 * @example
 * ```ts
 * if (!order) throw new NonRetriableError(`order ${id} does not exist`);
 * ```
 */
export class NonRetriableError extends JobSystemError {
  override name = "NonRetriableError" as const;
}

/**
 * The abort reason a handler's `ctx.signal` carries when its worker lost the run's lease:
 * the lease expired and the run was recovered into the retry flow while the handler
 * still ran (a long pause, say). A cancel aborts with {@link RunCanceledError} instead.
 */
export class LeaseLostError extends JobSystemError {
  override name = "LeaseLostError" as const;
  readonly runId: string;
  constructor(runId: string, reason: string) {
    super(`lease on run ${runId} lost: ${reason}`);
    this.runId = runId;
  }
}

/** The run was canceled; this is the abort reason a handler's `ctx.signal` carries on cancel. */
export class RunCanceledError extends JobSystemError {
  override name = "RunCanceledError" as const;
  readonly runId: string;
  constructor(runId: string, reason?: string) {
    super(`run ${runId} was canceled${reason ? `: ${reason}` : ""}`);
    this.runId = runId;
  }
}

/**
 * Recorded on a run whose wake-up message reached its lane's dead-letter queue while the
 * run was still Pending (its message was received too often without a claim: a worker
 * failing on it each time). The run fails rather than loop; rerun it once the cause is fixed.
 */
export class DeadLetterError extends JobSystemError {
  override name = "DeadLetterError" as const;
  readonly runId: string;
  constructor(runId: string, receives: number | undefined) {
    super(
      `the wake-up message of run ${runId} reached the dead-letter queue${receives ? ` after ${receives} receives` : ""}`,
    );
    this.runId = runId;
  }
}

/**
 * The abort reason of a handler's `ctx.signal` when its worker stops (shutdown after its
 * grace period, a Lambda invocation near its deadline). The attempt is handed back: the
 * run returns to Pending without counting a failed attempt (see {@link HandBackLimitError}).
 */
export class WorkerStoppingError extends JobSystemError {
  override name = "WorkerStoppingError" as const;
  constructor(message = "worker is stopping") {
    super(message);
  }
}

/**
 * Recorded on a run that stopping workers handed back more often than `maxHandBacks`
 * (a job that always outlives its worker: longer than the Lambda timeout, say). It fails
 * instead of being handed back forever.
 */
export class HandBackLimitError extends JobSystemError {
  override name = "HandBackLimitError" as const;
  readonly runId: string;
  constructor(runId: string, handBacks: number) {
    super(
      `run ${runId} was handed back by stopping workers ${handBacks} times, the limit: it does not finish within a worker's lifetime (a Lambda worker's timeout, a container's stop grace)`,
    );
    this.runId = runId;
  }
}

/**
 * A polling worker whose every slot is held by a handler that ignored its aborted
 * signal: it can claim nothing more. Reported to `onError`; `runContainerWorker` exits
 * non-zero on it so the orchestrator replaces the container.
 */
export class WorkerUnhealthyError extends JobSystemError {
  override name = "WorkerUnhealthyError" as const;
  constructor(workerId: string, abandoned: number) {
    super(
      `worker ${workerId}: all ${abandoned} slots are held by handlers that ignored their aborted signal; it claims no more runs`,
    );
  }
}

/**
 * Reported (never thrown to a caller) when a handler has not settled
 * 5 s after its signal aborted: it ignores `ctx.signal`. Its slot
 * stays taken until it settles, and its late writes are refused (the attempt no longer
 * holds the run).
 */
export class HandlerIgnoredAbortError extends JobSystemError {
  override name = "HandlerIgnoredAbortError" as const;
  readonly runId: string;
  readonly attempt: number;
  constructor(runId: string, attempt: number, abortedBy: string) {
    super(
      `the handler of run ${runId} (attempt ${attempt}) is still running after its signal aborted (${abortedBy}); make it honor ctx.signal`,
    );
    this.runId = runId;
    this.attempt = attempt;
  }
}

/**
 * A worker gave up a write of a run's state: the store stayed unreachable or kept
 * refusing it. Names the run, the attempt and the operation (`claim`, `record its
 * succeeded outcome`, ...); `cause` is the store's last error. Reported to the worker's
 * `onError` (the message is redelivered); whoever receives it next decides from the run
 * as stored (a claim that did commit is recovered once its lease is over).
 */
export class RunWriteError extends JobSystemError {
  override name = "RunWriteError" as const;
  readonly runId: string;
  readonly attempt: number;
  readonly operation: string;
  constructor(runId: string, attempt: number, operation: string, cause: unknown) {
    super(
      `run ${runId} (attempt ${attempt}): could not ${operation}: ${cause instanceof Error ? cause.message : String(cause)}`,
      { cause },
    );
    this.runId = runId;
    this.attempt = attempt;
    this.operation = operation;
  }
}

/**
 * A job's concurrency key function (`withConcurrencyKey`) threw, or returned something
 * other than a string of 1..256 characters, for a run's arguments. The run fails with
 * this error at its claim (no attempt is used; retries do not apply: the same arguments
 * give the same key).
 */
export class ConcurrencyKeyError extends JobSystemError {
  override name = "ConcurrencyKeyError" as const;
  readonly jobName: string;
  constructor(jobName: string, problem: string, options?: ErrorOptions) {
    super(`job "${jobName}" concurrency key ${problem}`, options);
    this.jobName = jobName;
  }
}
