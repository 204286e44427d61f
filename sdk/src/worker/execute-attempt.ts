/**
 * Runs one claimed attempt: builds the handler's context, keeps the lease alive,
 * enforces the timeout and the worker's deadline, and reduces everything that can
 * happen to one {@link AttemptOutcome}.
 *
 * Signals: the handler's `ctx.signal` aborts on cancel (seen by the next holder check,
 * so within one heartbeat interval), on timeout (`JobTimeoutError`), at the worker's
 * deadline or stop (`WorkerStoppingError`: the attempt is handed back) and once the
 * worker can no longer prove it holds its runs (`LeaseLostError`). A handler that throws
 * an abort error while its own signal was never aborted has failed (its HTTP client timed
 * out, say), and the retry policy applies.
 *
 * Self-fencing: `ctx.signal.aborted` and `ctx.signal.throwIfAborted()` check the worker's
 * lease at the moment they are called, so a handler resumed after its process was frozen
 * past its lease sees its signal aborted before it can act, whatever the event loop runs
 * first. The outcome is returned as soon as the attempt is given up; `handlerSettled`
 * tells when the handler itself has stopped (the worker keeps its slot until then).
 */

import { onAbort } from "../client/abort-listeners.js";
import type { JobClient } from "../client/job-client.js";
import { maxOutputItemBytes, maxPayloadBytes, toJson } from "../domain/json.js";
import type { RunError } from "../domain/run.js";
import type { LogLevel } from "../domain/run-event.js";
import {
  JobRunError,
  JobTimeoutError,
  LeaseLostError,
  NonRetriableError,
  RunCanceledError,
  ValidationError,
  WorkerStoppingError,
} from "../errors.js";
import { validateArgs } from "../jobs/args-schema.js";
import type { JobContext, JobLogger } from "../jobs/job-context.js";
import type { JobDefinition } from "../jobs/job-definition.js";
import type { RunItem } from "../store/run-item.js";
import type { RunStore } from "../store/run-store.js";
import { inputStream } from "../streams/input-stream.js";
import { hasStreams, injectStreams, isAsyncIterable } from "../streams/stream-args.js";
import { toRunError } from "./errors-to-record.js";
import type { RunWriter } from "./run-writer.js";

/** What an attempt came to. */
export type AttemptOutcome =
  | {
      readonly kind: "succeeded";
      readonly resultJson: string | undefined;
      /** For a streaming handler: how many items it yielded. */
      readonly outputCount?: number;
      /** For a streaming handler whose items exceed the result size limit: read them from the events. */
      readonly resultInEvents?: boolean;
    }
  /** Failed; `retriable` false means fail the run whatever retries remain. */
  | {
      readonly kind: "failed";
      readonly error: RunError;
      readonly retriable: boolean;
      readonly reason?: string;
    }
  /** The handler let an awaited child's cancellation propagate: the run ends Canceled. */
  | { readonly kind: "canceled"; readonly reason: string }
  /** The worker is stopping (shutdown, Lambda deadline): hand the run back without a failure. */
  | { readonly kind: "handedBack" }
  /** The attempt no longer holds the run (canceled, or recovered elsewhere): write nothing. */
  | { readonly kind: "lost" };

/** Timing of the attempt, in milliseconds. */
export interface AttemptTiming {
  /** How often the attempt checks that it still holds the run (a cancel shows then). */
  readonly heartbeatMs: number;
  /** Epoch ms by which the attempt must have ended (Lambda deadline, shutdown); none if absent. */
  readonly deadlineMs?: number;
  /** How often buffered logs and progress are written. */
  readonly flushMs: number;
  /**
   * Epoch ms until which the worker can prove it holds its runs (its last heartbeat plus
   * the lease, less a margin); past it the handler's signal aborts with `LeaseLostError`.
   * None: the worker's deadline bounds the attempt instead (Lambda).
   */
  readonly leaseValidUntilMs?: () => number;
  readonly now: () => number;
}

/** What {@link executeAttempt} resolves to. */
export interface AttemptResult {
  readonly outcome: AttemptOutcome;
  /** Resolves (never rejects) once the handler's own code has settled: at once unless it was given up while still running. */
  readonly handlerSettled: Promise<void>;
  /** The signal's abort reason when the attempt was given up (timeout, cancel, lease, stop); undefined otherwise. */
  readonly abortedBy: unknown;
}

export async function executeAttempt(
  job: JobDefinition<unknown, unknown>,
  store: RunStore,
  run: RunItem,
  writer: RunWriter,
  client: JobClient,
  timing: AttemptTiming,
  stopSignal?: AbortSignal,
): Promise<AttemptResult> {
  const controller = new AbortController();
  const cancels: (() => void)[] = [];
  const abort = (reason: Error) => {
    if (!isAborted(controller.signal)) controller.abort(reason);
  };
  const onStop = () => abort(new WorkerStoppingError("worker is stopping"));
  // One listener on the worker's stop signal however many attempts run at once.
  const stopListening = stopSignal ? onAbort(stopSignal, onStop) : () => undefined;
  if (stopSignal?.aborted) onStop();

  // Background writes never reject unhandled: a failed check or flush is tried again at
  // the next tick (a throttled read or write is the normal error under load).
  const abortIfLost = () => {
    const lost = writer.lost;
    if (!lost) return;
    abort(
      lost.status === "Canceled"
        ? new RunCanceledError(run.runId, lost.cancelReason)
        : new LeaseLostError(
            run.runId,
            `the run is ${lost.status} now (recovered after its holder was lost)`,
          ),
    );
  };
  const enforceLease = () => {
    const validUntil = timing.leaseValidUntilMs?.();
    if (validUntil !== undefined && timing.now() > validUntil)
      abort(new LeaseLostError(run.runId, "its worker could not prove it held the run for a lease"));
  };
  const check = setInterval(() => {
    enforceLease();
    writer.checkHolder().then(abortIfLost, () => undefined);
  }, timing.heartbeatMs);
  const flush = setInterval(() => {
    writer.flush().then(abortIfLost, () => undefined);
  }, timing.flushMs);
  cancels.push(
    () => clearInterval(check),
    () => clearInterval(flush),
  );
  if (job.timeoutMs !== undefined)
    cancels.push(longTimeout(() => abort(new JobTimeoutError(job.timeoutMs ?? 0)), job.timeoutMs));
  if (timing.deadlineMs !== undefined) {
    cancels.push(longTimeout(onStop, Math.max(0, timing.deadlineMs - timing.now())));
  }

  const ctx = createContext(run, writer, client, fencedSignal(controller.signal, enforceLease));
  // The latest promise of the handler's own code (its call, then each `next()` of its output).
  let userWork: Promise<unknown> = Promise.resolve();
  const result = (outcome: AttemptOutcome): AttemptResult => ({
    outcome,
    handlerSettled: userWork.then(
      () => undefined,
      () => undefined,
    ),
    abortedBy: isAborted(controller.signal) ? controller.signal.reason : undefined,
  });
  const aborted = new Promise<never>((_, reject) => {
    const signal = controller.signal;
    if (isAborted(signal)) reject(signal.reason);
    signal.addEventListener("abort", () => reject(signal.reason), { once: true });
  });
  aborted.catch(() => undefined);
  try {
    const args = await parseArgs(job, run, store, writer, controller.signal);
    userWork = Promise.resolve().then(() => job.handler(args, ctx));
    const returned = await Promise.race([userWork, aborted]);
    if (isAsyncIterable(returned) && !Array.isArray(returned)) {
      const outcome = await drainOutput(returned, writer, aborted, (next) => {
        userWork = next;
      });
      return result(writer.lost ? { kind: "lost" } : outcome);
    }
    if (writer.lost) return result({ kind: "lost" });
    return result({
      kind: "succeeded",
      resultJson: returned === undefined ? undefined : toJson(returned, "result"),
    });
  } catch (thrown) {
    return result(classify(thrown, controller.signal, writer));
  } finally {
    for (const cancelTimer of cancels) cancelTimer();
    stopListening();
  }
}

/**
 * The handler's view of its signal: `aborted` and `throwIfAborted()` first enforce the
 * lease (`enforce` aborts the signal if the worker can no longer prove it holds the run),
 * so they are exact at the moment of the call. Event listeners fire when the abort
 * happens (at that call or the next lease check).
 */
function fencedSignal(signal: AbortSignal, enforce: () => void): AbortSignal {
  Object.defineProperties(signal, {
    aborted: {
      get() {
        enforce();
        return isAborted(signal);
      },
    },
    throwIfAborted: {
      value() {
        enforce();
        AbortSignal.prototype.throwIfAborted.call(signal);
      },
    },
  });
  return signal;
}

const nativeAborted = Object.getOwnPropertyDescriptor(AbortSignal.prototype, "aborted")?.get as (
  this: AbortSignal,
) => boolean;

/** Whether `signal` is aborted, without the lease check of {@link fencedSignal} (which calls this). */
function isAborted(signal: AbortSignal): boolean {
  return nativeAborted.call(signal);
}

/** Longest delay `setTimeout` takes (2^31 - 1 ms, about 24.8 days); longer ones fire at once. */
const maxTimerMs = 2 ** 31 - 1;

/** A `setTimeout` for any delay (one past {@link maxTimerMs} is chained); returns its canceller. */
function longTimeout(fire: () => void, ms: number): () => void {
  let handle: NodeJS.Timeout;
  const arm = (remaining: number) => {
    handle = setTimeout(
      () => (remaining > maxTimerMs ? arm(remaining - maxTimerMs) : fire()),
      Math.min(remaining, maxTimerMs),
    );
  };
  arm(ms);
  return () => clearTimeout(handle);
}

/** Iterates a streaming handler's output, buffering each item as it comes. */
async function drainOutput(
  output: AsyncIterable<unknown>,
  writer: RunWriter,
  aborted: Promise<never>,
  onNext: (next: Promise<unknown>) => void,
): Promise<AttemptOutcome> {
  const iterator = output[Symbol.asyncIterator]();
  const items: string[] = [];
  let bytes = 2;
  try {
    for (;;) {
      const pending = iterator.next();
      onNext(pending);
      const next = await Promise.race([pending, aborted]);
      if (next.done) break;
      const json = toJson(next.value, `output[${items.length}]`, maxOutputItemBytes);
      writer.output(json);
      items.push(json);
      bytes += Buffer.byteLength(json, "utf8") + 1;
    }
  } catch (error) {
    void iterator.return?.()?.catch(() => undefined);
    throw error;
  }
  const fits = bytes <= maxPayloadBytes;
  return {
    kind: "succeeded",
    resultJson: fits ? `[${items.join(",")}]` : undefined,
    outputCount: items.length,
    resultInEvents: !fits,
  };
}

async function parseArgs(
  job: JobDefinition<unknown, unknown>,
  run: RunItem,
  store: RunStore,
  writer: RunWriter,
  signal: AbortSignal,
): Promise<unknown> {
  const argsJson = await store.argsJson(run);
  const stored = argsJson === undefined ? undefined : JSON.parse(argsJson);
  const args = hasStreams(argsJson)
    ? injectStreams(stored, (name) =>
        inputStream(store, run.runId, name, signal, (chunk) => writer.input(name, chunk)),
      )
    : stored;
  if (!job.argsSchema) return args;
  const check = await validateArgs(job.argsSchema, args);
  if (!check.ok) throw new NonRetriableError(`arguments do not match the job's schema: ${check.detail}`);
  return check.value;
}

function classify(thrown: unknown, signal: AbortSignal, writer: RunWriter): AttemptOutcome {
  // Aborted because the run was canceled or taken over: the writer knows, write nothing.
  if (writer.lost) return { kind: "lost" };
  const reason: unknown = isAborted(signal) ? signal.reason : undefined;
  if (reason instanceof JobTimeoutError)
    return { kind: "failed", error: toRunError(reason), retriable: true };
  if (reason instanceof WorkerStoppingError) return { kind: "handedBack" };
  if (thrown instanceof JobRunError && thrown.status === "Canceled") {
    return { kind: "canceled", reason: `child run ${thrown.run.runId} (${thrown.run.jobName}) was canceled` };
  }
  const retriable = !(thrown instanceof NonRetriableError || thrown instanceof ValidationError);
  return { kind: "failed", error: toRunError(thrown), retriable };
}

function createContext(run: RunItem, writer: RunWriter, client: JobClient, signal: AbortSignal): JobContext {
  const line = (level: LogLevel) => (message: string) =>
    writer.log({ at: new Date().toISOString(), level, message: String(message) });
  const logger: JobLogger = {
    debug: line("debug"),
    info: line("info"),
    warn: line("warn"),
    error: line("error"),
  };
  return {
    runId: run.runId,
    jobName: run.jobName,
    attempt: run.attempt,
    signal,
    client: client.childClient(run, signal),
    logger,
    reportProgress(progress: number) {
      if (typeof progress !== "number" || !(progress >= 0 && progress <= 1)) {
        throw new ValidationError("progress", `${String(progress)} is not within 0..1`);
      }
      writer.progress(progress);
    },
  };
}
