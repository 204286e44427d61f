/**
 * The worker core: what every worker (Lambda, container, local process) does with one
 * lane message. Claim, execute, complete; nothing else decides a run's fate.
 *
 * ```
 * message {runId, attempt}
 *   └─ read run ── missing / not Pending / other attempt ──▶ drop (duplicate or stale)
 *        ├─ notAfter passed ─────────────────────────────▶ Canceled (expired), drop
 *        ├─ notBefore ahead ─────────────────────────────▶ hold (message visibility)
 *        └─ claim Pending→Running (attempt+1), conditional ── lost race ──▶ drop
 *             └─ execute ─▶ Succeeded | Failed | Canceled | Pending (retry; new message)
 * ```
 * A retry due further ahead than the timer's threshold is released by the timer
 * instead of a message held for hours; the first claim of a run with an expiry timer
 * deletes that timer (the deadline no longer applies to a started run).
 * Invariant 2 (at most one live execution per attempt) holds because the handler only
 * runs after the conditional claim committed.
 */
import { randomUUID } from "node:crypto";
import type { JobClient } from "../client/job-client.js";
import { backoffMillis, hasRetriesLeft } from "../domain/retry-policy.js";
import { cancel, claim, expire, failAttempt, succeed } from "../domain/transitions.js";
import { JobNotFoundError } from "../errors.js";
import type { JobApp } from "../jobs/job-app.js";
import type { Dispatcher, RunMessage } from "../queue/dispatcher.js";
import { holdSeconds } from "../queue/visibility.js";
import { applyTransition, cancelDescendants } from "../runs/lifecycle.js";
import type { RunItem } from "../store/run-item.js";
import type { RunStore } from "../store/run-store.js";
import { type RunTimer, releasePath } from "../timer/timer-port.js";
import { toRunError } from "./errors-to-record.js";
import { type AttemptOutcome, executeAttempt } from "./execute-attempt.js";
import { RunWriter } from "./run-writer.js";

/** A run due within this many ms is waited for in process rather than held by message visibility. */
const shortWaitMs = 1000;

/** What to do with the message that was processed. */
export type MessageDisposition =
  /** Done with it: delete it (or report success to the event source mapping). */
  | { readonly action: "delete" }
  /** The run is not due yet: hide the message for `delaySeconds`, then it is delivered again. */
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
  /** Lease length in ms: a run whose worker has not renewed it for this long is recovered. @default 30000 */
  readonly leaseMs?: number;
  /** Lease renewal interval in ms; also bounds how fast a cancel reaches the handler. @default leaseMs / 3 */
  readonly heartbeatMs?: number;
  /** How often buffered logs and progress are written, in ms. @default 1000 */
  readonly flushMs?: number;
  /** Longest delay between a streaming handler yielding an item and its write, in ms. @default 50 */
  readonly outputDelayMs?: number;
  /** Clock, epoch ms. @default Date.now */
  readonly now?: () => number;
  /** Releases long retry backoffs and holds expiry timers (see `timer/timer-port.ts`). @default none: retries are sent at once and held by visibility */
  readonly timer?: RunTimer;
}

/** Per-message options. */
export interface ProcessOptions {
  /** Called once the claim committed: a polling worker deletes the message here. */
  readonly onClaimed?: () => Promise<void> | void;
  /** Epoch ms by which the attempt must be over (Lambda deadline); the handler is aborted then. */
  readonly deadlineMs?: number;
  /** Aborted when the worker is shutting down. */
  readonly stopSignal?: AbortSignal;
}

export class WorkerCore {
  readonly workerId: string;
  readonly #options: WorkerCoreOptions;
  readonly #leaseMs: number;
  readonly #heartbeatMs: number;
  readonly #now: () => number;

  constructor(options: WorkerCoreOptions) {
    this.#options = options;
    this.workerId = options.workerId ?? `worker-${randomUUID()}`;
    this.#leaseMs = options.leaseMs ?? 30_000;
    this.#heartbeatMs = options.heartbeatMs ?? Math.floor(this.#leaseMs / 3);
    this.#now = options.now ?? Date.now;
    if (this.#heartbeatMs * 2 > this.#leaseMs) {
      throw new Error(
        `heartbeatMs (${this.#heartbeatMs}) must be at most half of leaseMs (${this.#leaseMs})`,
      );
    }
  }

  /** Processes one lane message. Throws only on infrastructure errors (the message is then redelivered). */
  async process(message: RunMessage, options: ProcessOptions = {}): Promise<MessageDisposition> {
    const { store, app } = this.#options;
    const run = await store.get(message.runId);
    if (!run || run.status !== "Pending" || run.attempt !== message.attempt) return { action: "delete" };
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
    const claimed = await applyTransition(store, run, (r) => {
      const t = claim(r, message.attempt, this.workerId, this.#now(), this.#leaseMs);
      if (!t?.next.timerExpiry) return t;
      const { timerExpiry: _deleted, ...next } = t.next;
      return { ...t, next };
    });
    if (!claimed) return { action: "delete" };
    // Started before its deadline: its expiry timer would only fire into a no-op. Best effort.
    const expiryDeleted = run.timerExpiry
      ? this.#options.timer?.cancelSchedules(run, ["expiry"]).catch(() => undefined)
      : undefined;
    await options.onClaimed?.();

    const job = app.getJob(claimed.jobName);
    const writer = new RunWriter(store, claimed, this.#options.outputDelayMs);
    const outcome: AttemptOutcome = job
      ? await executeAttempt(
          job,
          store,
          claimed,
          writer,
          this.#options.client,
          {
            heartbeatMs: this.#heartbeatMs,
            leaseMs: this.#leaseMs,
            flushMs: this.#options.flushMs ?? 1000,
            now: this.#now,
            ...(options.deadlineMs !== undefined ? { deadlineMs: options.deadlineMs } : {}),
          },
          options.stopSignal,
        )
      : {
          kind: "failed",
          error: toRunError(new JobNotFoundError(claimed.jobName)),
          retriable: false,
          reason: "no handler registered",
        };
    await this.#complete(claimed, writer, outcome, job?.retry);
    await expiryDeleted;
    return { action: "delete" };
  }

  async #complete(
    claimed: RunItem,
    writer: RunWriter,
    outcome: AttemptOutcome,
    retry: Parameters<typeof backoffMillis>[0] | undefined,
  ): Promise<void> {
    const { store, dispatcher, timer } = this.#options;
    const attempt = claimed.attempt;
    let stored: RunItem | undefined;
    switch (outcome.kind) {
      case "lost":
        return;
      case "succeeded":
        await writer.finish(
          (r) => succeed(r, attempt, outcome.resultJson, this.#now(), outcome.resultInEvents),
          outcome.outputCount !== undefined ? [{ type: "outputComplete", count: outcome.outputCount }] : [],
        );
        return;
      case "canceled":
        stored = await writer.finish((r) => cancel(r, outcome.reason, this.#now()));
        break;
      case "failed": {
        const retryAtMs =
          outcome.retriable && retry && hasRetriesLeft(retry, attempt)
            ? this.#now() + backoffMillis(retry, attempt)
            : undefined;
        const viaTimer = retryAtMs !== undefined && releasePath(timer, retryAtMs, this.#now()) === "timer";
        stored = await writer.finish((r) => {
          const t = failAttempt(r, attempt, outcome.error, retryAtMs, this.#now(), outcome.reason);
          return t && retryAtMs !== undefined
            ? { ...t, next: requeuedRetry(t.next, this.#now(), viaTimer) }
            : t;
        });
        if (stored?.status === "Pending") {
          // A lost send or a failed schedule leaves the run to the sweep (it re-sends due runs).
          if (viaTimer && retryAtMs !== undefined)
            await timer?.scheduleRelease(stored, retryAtMs).catch(() => undefined);
          else await dispatcher.send(stored).catch(() => undefined);
          return;
        }
        break;
      }
    }
    if (stored)
      await cancelDescendants(
        store,
        stored.runId,
        `parent run ${stored.runId} ended ${stored.status}`,
        this.#now,
        timer,
      );
  }
}

/** Marks a run as sent once more (the send follows the write). */
export function requeued(run: RunItem, nowMs: number): RunItem {
  return { ...run, enqueueCount: run.enqueueCount + 1, enqueuedMs: nowMs };
}

/** {@link requeued} for a retry; `viaTimer` records that the timer sends this attempt's message. */
export function requeuedRetry(run: RunItem, nowMs: number, viaTimer: boolean): RunItem {
  const next = requeued(run, nowMs);
  return viaTimer ? { ...next, timerRelease: next.attempt } : next;
}
