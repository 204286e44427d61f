/**
 * The worker core: what every worker (Lambda, container, local process) does with one
 * lane message. Claim, execute, complete; nothing else decides a run's fate.
 *
 * ```
 * message {runId, attempt, jobName} (a child's also names its parent and the parent's attempt)
 *   ├─ a child whose parent ended, or moved past that attempt ─▶ Canceled, drop
 *   ├─ a limited job, or a paused queue: the limit gate (`limits/limit-gate.ts`) ─▶ wait, drop
 *   │    └─ or claim with its slots in the claim's transaction
 *   └─ claim: one conditional update, Pending→Running (attempt+1), no read first
 *        ├─ claimed ─▶ execute ─▶ Succeeded | Failed | Canceled | Pending (retry)
 *        └─ not claimed: decide from the run as it is (returned by the failed condition)
 *             ├─ missing, finished, other attempt ──────────▶ drop (duplicate or stale)
 *             ├─ notAfter passed ───────────────────────────▶ Canceled (expired), drop
 *             ├─ notBefore ahead ───────────────────────────▶ hold (message visibility)
 *             └─ Running at attempt+1: the message of a running attempt came back
 *                  ├─ its holder is alive ──────────────────▶ hold again
 *                  └─ its holder is gone ───────────────────▶ recover (retry policy), drop
 * ```
 * The message stays in flight while its run executes: it is the run's lease. A Lambda
 * holder is proven gone once its invocation's deadline has passed (the lane's visibility
 * timeout is the function timeout plus a minute); a container holder by its heartbeat
 * item being older than `leaseMs` (the polling worker writes it).
 *
 * A retry due further ahead than the timer's threshold is released by the timer instead
 * of a message held for hours; the first claim of a run with an expiry timer deletes
 * that timer (the deadline no longer applies to a started run). Children of an attempt
 * that ends without success are canceled from the table's stream
 * (`runs/cascade-cancel.ts`); a retry's claim cancels those of earlier attempts before
 * its handler starts. Invariant 2 (at most one
 * live execution per attempt) holds because the handler only runs after the
 * conditional claim committed.
 */

import { randomUUID } from "node:crypto";
import { canceledBatchReason } from "../batches/batch-claim-check.js";
import type { JobClient } from "../client/job-client.js";
import { earlierAttemptsOrder, orphanReason } from "../domain/lineage.js";
import { backoffMillis, hasRetriesLeft, type ResolvedRetryPolicy } from "../domain/retry-policy.js";
import { cancel, expire, failAttempt, failedAttempts, handBack, succeed } from "../domain/transitions.js";
import { HandlerIgnoredAbortError, JobNotFoundError, RunWriteError } from "../errors.js";
import type { JobApp } from "../jobs/job-app.js";
import { LimitGate, wakeRateWaiters } from "../limits/limit-gate.js";
import { QueueStates } from "../limits/queue-states.js";
import { rateNameOf } from "../limits/rate-permits.js";
import { wakeAfterRelease } from "../limits/slot-release-wake-ups.js";
import type { Dispatcher, RunMessage } from "../queue/dispatcher.js";
import { holdSeconds } from "../queue/visibility.js";
import { cancelChildren } from "../runs/cascade-cancel.js";
import { applyTransition, cancelRun } from "../runs/lifecycle.js";
import { claimRun } from "../store/claim.js";
import type { RunItem } from "../store/run-item.js";
import type { RunStore } from "../store/run-store.js";
import { isStoreUnavailable, unavailablePause } from "../store/store-unavailable.js";
import { type RunTimer, releasePath } from "../timer/timer-port.js";
import { toRunError } from "./errors-to-record.js";
import { type AttemptOutcome, type AttemptResult, executeAttempt } from "./execute-attempt.js";
import { holderAlive, recoverRun, retryPolicyOf } from "./recovery.js";
import { RunWriter } from "./run-writer.js";

/** A run due within this many ms is waited for in process rather than held by message visibility. */
const shortWaitMs = 1000;

/** A handler still running this long after its signal aborted is reported as ignoring it, in ms. */
export const abandonedAfterMs = 5000;

/** What to do with the message that was processed. */
export type MessageDisposition =
  /**
   * Done with it: delete it (or report success to the event source mapping).
   * `handlerSettled` resolves once the attempt's handler has stopped running: a worker
   * keeps the slot taken until then (a handler given up by timeout, cancel, lease loss
   * or stop may still be running when its outcome is recorded).
   */
  | { readonly action: "delete"; readonly handlerSettled?: Promise<void> }
  /** Not now: hide the message for `delaySeconds`, then it is delivered again. */
  | { readonly action: "hold"; readonly delaySeconds: number };

/** Worker core settings. */
export interface WorkerCoreOptions {
  readonly app: JobApp;
  readonly store: RunStore;
  readonly dispatcher: Dispatcher;
  /** The client handlers get (as `ctx.client`, scoped to their run). */
  readonly client: JobClient;
  /** @default a random id */
  readonly workerId?: string;
  /**
   * Lease length in ms: a container worker whose heartbeat is older than this is gone,
   * and its runs are recovered when their messages come back: within `leaseMs` of its
   * last heartbeat (written every `leaseMs / 3`, so a minute of run time costs three
   * writes per worker, shared by all the runs it holds). @default 60000
   */
  readonly leaseMs?: number;
  /** How often a running attempt checks that it still holds its run, in ms: a cancel reaches the handler within this. @default 5000 */
  readonly heartbeatMs?: number;
  /** How often buffered logs and progress are written, in ms (each write is billed per started KB, so fewer, fuller writes cost less). @default 5000 */
  readonly flushMs?: number;
  /** Longest delay between a streaming handler yielding an item and its write, in ms. @default 50 */
  readonly outputDelayMs?: number;
  /** Clock, epoch ms. @default Date.now */
  readonly now?: () => number;
  /** Releases long retry backoffs and holds expiry timers (see `timer/timer-port.ts`). @default none: retries are sent at once and held by visibility */
  readonly timer?: RunTimer;
  /**
   * Called when a handler is still running {@link abandonedAfterMs} after its signal
   * aborted (it ignores `ctx.signal`). @default console.warn
   */
  readonly onHandlerIgnoredAbort?: (error: HandlerIgnoredAbortError) => void;
}

/** Per-message options. */
export interface ProcessOptions {
  /** Called once the claim committed, with the claimed run (a polling worker starts extending the message's visibility). */
  readonly onClaimed?: (run: RunItem) => Promise<void> | void;
  /** Epoch ms by which the attempt must be over (Lambda deadline less a margin); the handler is aborted then. */
  readonly deadlineMs?: number;
  /** A Lambda holder's hard deadline, epoch ms: recorded on the run, so a redelivery after it may recover the run. */
  readonly holdUntilMs?: number;
  /** Aborted when the worker is shutting down: the attempt is handed back. */
  readonly stopSignal?: AbortSignal;
  /** Epoch ms until which the worker can prove it holds its runs (see `AttemptTiming.leaseValidUntilMs`). */
  readonly leaseValidUntilMs?: () => number;
}

export class WorkerCore {
  readonly workerId: string;
  readonly leaseMs: number;
  readonly #options: WorkerCoreOptions;
  readonly #heartbeatMs: number;
  readonly #now: () => number;
  /** Runs this worker is executing now. */
  readonly #active = new Set<string>();
  /** Runs whose handlers ignored their aborted signal and have not settled yet. */
  readonly #abandoned = new Set<string>();
  readonly #gate: LimitGate;
  #ignoredAborts = 0;

  constructor(options: WorkerCoreOptions) {
    this.#options = options;
    this.workerId = options.workerId ?? `worker-${randomUUID()}`;
    this.leaseMs = options.leaseMs ?? 60_000;
    this.#heartbeatMs = options.heartbeatMs ?? 5_000;
    this.#now = options.now ?? Date.now;
    const { app, store, dispatcher } = options;
    this.#gate = new LimitGate({
      app,
      store,
      dispatcher,
      now: this.#now,
      queueStates: new QueueStates(store, this.#now),
    });
  }

  /** Handlers that ignored their aborted signal and are still running (each holds a slot of its worker). */
  get abandonedCount(): number {
    return this.#abandoned.size;
  }

  /** Handlers reported as ignoring their aborted signal since this worker started (a metric). */
  get ignoredAborts(): number {
    return this.#ignoredAborts;
  }

  /** Processes one lane message. Throws only on infrastructure errors (the message is then redelivered). */
  async process(message: RunMessage, options: ProcessOptions = {}): Promise<MessageDisposition> {
    const { store } = this.#options;
    if (message.limitWake) return this.#limitWake(message.limitWake);
    const lineage = await this.#lineage(message);
    if (lineage.orphaned) return { action: "delete" };
    for (let tries = 0; ; tries++) {
      const admission = await this.#gate.admit(message, lineage.parent);
      if (admission.kind === "done") return { action: "delete" };
      const outcome =
        admission.kind === "current"
          ? { current: admission.run }
          : await claimRun(store, {
              runId: message.runId,
              attempt: message.attempt,
              workerId: this.workerId,
              nowMs: admission.kind === "claim" ? admission.nowMs : this.#now(),
              ...(options.holdUntilMs !== undefined ? { holdUntilMs: options.holdUntilMs } : {}),
              ...(admission.kind === "claim" ? { also: admission.also, slots: admission.slots } : {}),
            });
      if ("claimed" in outcome) return this.#execute(outcome.claimed, options);
      const run = outcome.current;
      if (!run) return { action: "delete" };
      if (run.status === "Running" && run.attempt === message.attempt + 1) return this.#redelivered(run);
      if (run.status !== "Pending" || run.attempt !== message.attempt) return { action: "delete" };
      const now = this.#now();
      if (run.notAfterMs !== undefined && run.notAfterMs <= now) {
        await applyTransition(store, run, (r) => expire(r, this.#now()));
        return { action: "delete" };
      }
      if (run.notBeforeMs !== undefined && run.notBeforeMs > now) {
        // Visibility holds are whole seconds: wait out a sub-second remainder here instead.
        if (run.notBeforeMs - now > shortWaitMs)
          return { action: "hold", delaySeconds: holdSeconds(run.notBeforeMs, now) };
        await new Promise((resolve) => setTimeout(resolve, (run.notBeforeMs ?? now) - now));
      }
      // Due now, or the run changed between the claim and its image: claim again (bounded).
      if (tries >= 3) return { action: "hold", delaySeconds: 1 };
    }
  }

  /**
   * A child whose parent ended Canceled or Failed, or moved past the attempt that created
   * it, is canceled instead of claimed (`domain/lineage.ts`): one strongly consistent read
   * of the parent, for child runs only; so is a child of a canceled batch (one read of the
   * batch record, `batches/batch-claim-check.ts`). Returns whether it was, and the
   * parent as read (the limit gate lets a child run under its parent's slots).
   */
  async #lineage(message: RunMessage): Promise<{ orphaned: boolean; parent?: RunItem }> {
    const { store, timer } = this.#options;
    const parent = message.parentRunId === undefined ? undefined : await store.get(message.parentRunId);
    const reason =
      (message.parentRunId === undefined ? undefined : orphanReason(parent, message.parentAttempt)) ??
      (await canceledBatchReason(store, message.batchId));
    if (reason === undefined) return { orphaned: false, ...(parent ? { parent } : {}) };
    await cancelRun(store, message.runId, reason, this.#now, timer);
    return { orphaned: true };
  }

  /** A rate limit's wake-up message: held until due, then its waiters are woken (`limits/limit-gate.ts`). */
  async #limitWake(wake: { readonly key: string; readonly atMs: number }): Promise<MessageDisposition> {
    const now = this.#now();
    if (wake.atMs - now > shortWaitMs) return { action: "hold", delaySeconds: holdSeconds(wake.atMs, now) };
    if (wake.atMs > now) await new Promise((resolve) => setTimeout(resolve, wake.atMs - now));
    const rate = this.#options.app.getRateLimit(rateNameOf(wake.key));
    if (rate) await wakeRateWaiters(this.#options, rate, Math.max(this.#now(), wake.atMs));
    return { action: "delete" };
  }

  /**
   * A retry starts only once the children of earlier attempts are canceled (one level:
   * theirs follow from the table's stream). Best effort: the stream's cascade cancels
   * them anyway, so an infrastructure error here only lets the handler start sooner.
   */
  async #cancelEarlierChildren(claimed: RunItem): Promise<void> {
    const order = earlierAttemptsOrder(claimed);
    if (!order) return;
    const { store, timer } = this.#options;
    await cancelChildren({ store, now: this.#now, ...(timer ? { timer } : {}) }, order).catch(
      () => undefined,
    );
  }

  /** The message of a running attempt came back: hold it while the holder lives, else recover the run. */
  async #redelivered(run: RunItem): Promise<MessageDisposition> {
    const hold = { action: "hold", delaySeconds: Math.max(1, Math.ceil(this.leaseMs / 1000)) } as const;
    if (this.#active.has(run.runId)) return hold;
    if (await holderAlive(this.#options.store, run, this.leaseMs, this.#now())) return hold;
    const { store, dispatcher, timer } = this.#options;
    const stored = await recoverRun(
      {
        store,
        dispatcher,
        ...(timer ? { timer } : {}),
        now: this.#now,
        retryPolicy: (job) => this.#retryPolicy(job),
      },
      run,
    );
    return stored === undefined ? hold : { action: "delete" };
  }

  #retryPolicy(jobName: string): Promise<ResolvedRetryPolicy | undefined> {
    return retryPolicyOf(this.#options.app, this.#options.store, jobName);
  }

  async #execute(claimed: RunItem, options: ProcessOptions): Promise<MessageDisposition> {
    const { app, store } = this.#options;
    this.#active.add(claimed.runId);
    try {
      // Started before its deadline: its expiry timer would only fire into a no-op. Best effort.
      const expiryDeleted = claimed.timerExpiry
        ? this.#options.timer?.cancelSchedules(claimed, ["expiry"]).catch(() => undefined)
        : undefined;
      await options.onClaimed?.(claimed);
      await this.#cancelEarlierChildren(claimed);
      const job = app.getJob(claimed.jobName);
      const writer = new RunWriter(store, claimed, this.#options.outputDelayMs);
      const attempt: AttemptResult = job
        ? await executeAttempt(
            job,
            store,
            claimed,
            writer,
            this.#options.client,
            {
              heartbeatMs: this.#heartbeatMs,
              flushMs: this.#options.flushMs ?? 5000,
              now: this.#now,
              ...(options.deadlineMs !== undefined ? { deadlineMs: options.deadlineMs } : {}),
              ...(options.leaseValidUntilMs ? { leaseValidUntilMs: options.leaseValidUntilMs } : {}),
            },
            options.stopSignal,
          )
        : {
            outcome: {
              kind: "failed",
              error: toRunError(new JobNotFoundError(claimed.jobName)),
              retriable: false,
              reason: "no handler registered",
            },
            handlerSettled: Promise.resolve(),
            abortedBy: undefined,
          };
      if (attempt.abortedBy !== undefined) this.#watchAbandoned(claimed, attempt);
      await this.#complete(claimed, writer, attempt.outcome, job?.retry);
      // The fast path of waking the next waiters; the table stream's consumer does it too.
      if (claimed.slots) await wakeAfterRelease(this.#options, claimed.slots).catch(() => undefined);
      await expiryDeleted;
      return { action: "delete", handlerSettled: attempt.handlerSettled };
    } finally {
      this.#active.delete(claimed.runId);
    }
  }

  /** Reports a given-up handler that has not settled {@link abandonedAfterMs} later, and counts it until it does. */
  #watchAbandoned(run: RunItem, attempt: AttemptResult): void {
    const timer = setTimeout(() => {
      this.#ignoredAborts++;
      this.#abandoned.add(run.runId);
      const by = attempt.abortedBy instanceof Error ? attempt.abortedBy.name : String(attempt.abortedBy);
      const error = new HandlerIgnoredAbortError(run.runId, run.attempt, by);
      (this.#options.onHandlerIgnoredAbort ?? ((e) => console.warn(e.message)))(error);
    }, abandonedAfterMs);
    timer.unref();
    void attempt.handlerSettled.then(() => {
      clearTimeout(timer);
      this.#abandoned.delete(run.runId);
    });
  }

  /**
   * Records the attempt's outcome, trying again on an infrastructure error with jittered
   * backoff: the outcome of a finished handler is not thrown away because writes failed.
   * While the store is away or throttling (`store/store-unavailable.ts`) it keeps trying
   * however long that lasts: nobody can take the run without the store either, and the
   * write is conditional, so once the store answers it lands or finds the run taken.
   * Other errors are tried for up to a lease. Gives up with `RunWriteError`.
   */
  async #complete(
    claimed: RunItem,
    writer: RunWriter,
    outcome: AttemptOutcome,
    retry: ResolvedRetryPolicy | undefined,
  ): Promise<void> {
    const giveUpAt = this.#now() + this.leaseMs;
    for (let tries = 0; ; tries++) {
      try {
        return await this.#record(claimed, writer, outcome, retry);
      } catch (error) {
        if (!isStoreUnavailable(error) && this.#now() + 100 * 2 ** Math.min(tries, 6) > giveUpAt)
          throw new RunWriteError(
            claimed.runId,
            claimed.attempt,
            `record the ${outcome.kind} outcome`,
            error,
          );
        await unavailablePause(tries);
      }
    }
  }

  async #record(
    claimed: RunItem,
    writer: RunWriter,
    outcome: AttemptOutcome,
    retry: ResolvedRetryPolicy | undefined,
  ): Promise<void> {
    const { dispatcher, timer } = this.#options;
    const attempt = claimed.attempt;
    switch (outcome.kind) {
      case "lost":
        return;
      case "succeeded":
        await writer.finish(
          (r) =>
            succeed(
              r,
              attempt,
              {
                ...(outcome.resultJson !== undefined ? { resultJson: outcome.resultJson } : {}),
                ...(outcome.resultInEvents ? { resultInEvents: true } : {}),
              },
              this.#now(),
            ),
          outcome.outputCount !== undefined ? [{ type: "outputComplete", count: outcome.outputCount }] : [],
        );
        return;
      case "canceled":
        await writer.finish((r) => cancel(r, outcome.reason, this.#now()));
        return;
      case "handedBack": {
        const stored = await writer.finish((r) => handBack(r, attempt, this.#now()));
        // The fast path; the table stream's consumer sends the same wake-up.
        if (stored?.status === "Pending") await dispatcher.send(stored).catch(() => undefined);
        return;
      }
      case "failed": {
        const failed = failedAttempts(claimed);
        const retryAtMs =
          outcome.retriable && retry && hasRetriesLeft(retry, failed)
            ? this.#now() + backoffMillis(retry, failed)
            : undefined;
        const viaTimer = retryAtMs !== undefined && releasePath(timer, retryAtMs, this.#now()) === "timer";
        const stored = await writer.finish((r) => {
          const t = failAttempt(r, attempt, outcome.error, retryAtMs, this.#now(), outcome.reason);
          return t && viaTimer ? { ...t, next: { ...t.next, timerRelease: t.next.attempt } } : t;
        });
        if (stored?.status === "Pending") {
          // The fast path; the table stream's consumer sends (or schedules) the same wake-up.
          if (viaTimer && retryAtMs !== undefined)
            await timer?.scheduleRelease(stored, retryAtMs).catch(() => undefined);
          else await dispatcher.send(stored).catch(() => undefined);
        }
        return;
      }
    }
  }
}
