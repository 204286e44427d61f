/** What a job handler receives besides its arguments. */
import type { JobClient } from "../client/job-client.js";

/** Writes log lines that are recorded on the run (as `log` events and `recentLogs`). */
export interface JobLogger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/** The second argument of every job handler. */
export interface JobContext {
  /** This run's id. */
  readonly runId: string;
  readonly jobName: string;
  /** 1 for the first execution, 2 for the first retry, and so on. */
  readonly attempt: number;
  /**
   * Aborted when the run is canceled (detected within two heartbeat intervals), when
   * the job's timeout passes (reason: `JobTimeoutError`), when the worker lost the
   * run's lease and the run was recovered elsewhere (reason: `LeaseLostError`), or
   * shortly before the worker must stop (Lambda deadline, shutdown). Pass it to `fetch` and friends, or check
   * `signal.aborted` in loops. A handler that ignores it keeps running, but its outcome
   * is discarded once the run is Canceled.
   */
  readonly signal: AbortSignal;
  /**
   * A client whose triggers become children of this run (`parentRunId` = this run,
   * same `rootRunId`). Canceling this run cascades to them.
   */
  readonly client: JobClient;
  /**
   * Reports progress, a number in 0..1 (else throws `ValidationError`). Frequent
   * reports are coalesced: the latest value is written within about a second, and
   * always before the run completes.
   */
  reportProgress(progress: number): void;
  /** Log lines recorded on the run, buffered and written in chunks. */
  readonly logger: JobLogger;
}

/** A job handler: arguments in, result out (return nothing for no result). */
export type JobHandler<TArgs, TResult> = (args: TArgs, ctx: JobContext) => TResult | Promise<TResult>;
