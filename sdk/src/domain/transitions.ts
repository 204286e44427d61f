/**
 * The run state machine as pure functions: each takes the current run and returns the
 * next run and the status event to append, or `undefined` when the transition does not
 * apply to the run as it is (wrong status or attempt). No I/O; the store commits the
 * result conditionally (see `runs/lifecycle.ts`).
 */
import type { RunItem } from "../store/run-item.js";
import { isTerminal, type RunError } from "./run.js";
import type { RunEventBody } from "./run-event.js";

/** A decided transition: the whole next item and the events to append with it. */
export interface Transition {
  readonly next: RunItem;
  readonly events: RunEventBody[];
  /**
   * The decision rested on the run's lease having expired: commit only if the lease is
   * still the one read (a renewal in between means the worker is alive).
   */
  readonly guardLease?: boolean;
}

const iso = (ms: number) => new Date(ms).toISOString();

function without(run: RunItem, ...keys: (keyof RunItem)[]): RunItem {
  const next = { ...run };
  for (const key of keys) delete next[key];
  return next;
}

/** `Pending → Running` for the claim of attempt `run.attempt + 1`, when `attempt` still matches. */
export function claim(
  run: RunItem,
  expectedAttempt: number,
  workerId: string,
  nowMs: number,
  leaseMs: number,
): Transition | undefined {
  if (run.status !== "Pending" || run.attempt !== expectedAttempt) return undefined;
  const next: RunItem = {
    ...run,
    status: "Running",
    attempt: run.attempt + 1,
    startedAt: iso(nowMs),
    workerId,
    leaseExpiresMs: nowMs + leaseMs,
    progress: 0,
  };
  return { next, events: [{ type: "status", status: "Running" }] };
}

/** `Running → Succeeded` for the attempt that holds the run. */
export function succeed(
  run: RunItem,
  attempt: number,
  resultJson: string | undefined,
  nowMs: number,
  resultInEvents = false,
): Transition | undefined {
  if (run.status !== "Running" || run.attempt !== attempt) return undefined;
  const next: RunItem = {
    ...without(run, "leaseExpiresMs", "error", "resultJson", "resultInEvents"),
    status: "Succeeded",
    progress: 1,
    completedAt: iso(nowMs),
    ...(resultJson !== undefined ? { resultJson } : {}),
    ...(resultInEvents ? { resultInEvents } : {}),
  };
  return { next, events: [{ type: "status", status: "Succeeded" } as RunEventBody] };
}

/**
 * A failed attempt. With `retryAtMs`, `Running → Pending` (progress reset, `notBefore`
 * = `retryAtMs`); without, `Running → Failed`. `reason` says why for recoveries
 * (lease expired, shutdown) and is absent for a handler's own error.
 */
export function failAttempt(
  run: RunItem,
  attempt: number,
  error: RunError,
  retryAtMs: number | undefined,
  nowMs: number,
  reason?: string,
): Transition | undefined {
  if (run.status !== "Running" || run.attempt !== attempt) return undefined;
  const base = { ...without(run, "leaseExpiresMs"), error };
  if (retryAtMs !== undefined) {
    const next: RunItem = { ...base, status: "Pending", notBeforeMs: retryAtMs, progress: 0 };
    return {
      next,
      events: [
        { type: "status", status: "Pending", reason: reason ?? "retry", error, retryAt: iso(retryAtMs) },
      ],
    };
  }
  const next: RunItem = { ...base, status: "Failed", completedAt: iso(nowMs) };
  return { next, events: [{ type: "status", status: "Failed", error, ...(reason ? { reason } : {}) }] };
}

/** `Pending | Running → Canceled`, recording `reason`. Not applicable to a terminal run. */
export function cancel(run: RunItem, reason: string, nowMs: number): Transition | undefined {
  if (isTerminal(run.status)) return undefined;
  const next: RunItem = {
    ...without(run, "leaseExpiresMs"),
    status: "Canceled",
    cancelReason: reason,
    completedAt: iso(nowMs),
  };
  return { next, events: [{ type: "status", status: "Canceled", reason }] };
}

/** `Pending → Canceled` because `notAfter` passed before the run started. */
export function expire(run: RunItem, nowMs: number): Transition | undefined {
  if (run.status !== "Pending" || run.notAfterMs === undefined || run.notAfterMs > nowMs) return undefined;
  return cancel(run, `notAfter passed (${iso(run.notAfterMs)}) before the run started`, nowMs);
}
