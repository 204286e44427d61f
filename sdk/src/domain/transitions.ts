/**
 * The run state machine as pure functions: each takes the current run and returns the
 * next run and the status event it enters with, or `undefined` when the transition does
 * not apply to the run as it is (wrong status or attempt). No I/O; the store commits the
 * result conditionally (see `runs/lifecycle.ts` and `store/run-store.ts`).
 *
 * The claim (`Pending → Running`) is not here: it is one blind conditional update whose
 * conditions are the rule (`store/claim.ts`).
 */

import { HandBackLimitError } from "../errors.js";
import type { RunItem } from "../store/run-item.js";
import { isTerminal, type RunError } from "./run.js";
import type { RunEventBody } from "./run-event.js";

/** A decided transition: the whole next item and the status event that enters it. */
export interface Transition {
  readonly next: RunItem;
  readonly event: RunEventBody & { readonly type: "status" };
}

const iso = (ms: number) => new Date(ms).toISOString();

function without(run: RunItem, ...keys: (keyof RunItem)[]): RunItem {
  const next = { ...run };
  for (const key of keys) delete next[key];
  return next;
}

/**
 * Fields a run loses when its attempt ends (the holder, its lease and its concurrency
 * slots) or when it leaves Pending (its place in a waiter list): the store frees the
 * slot and waiter items in the same write (`run-store.ts`).
 */
const holderFields: (keyof RunItem)[] = [
  "holdUntilMs",
  "statusReason",
  "slots",
  "waitingFor",
  "waitKey",
  "waitSk",
  "waitPk",
];

/** `Running → Succeeded` for the attempt that holds the run. */
export function succeed(
  run: RunItem,
  attempt: number,
  result: Pick<RunItem, "resultJson" | "resultRef" | "resultInEvents">,
  nowMs: number,
): Transition | undefined {
  if (run.status !== "Running" || run.attempt !== attempt) return undefined;
  const next: RunItem = {
    ...without(run, ...holderFields, "error", "resultJson", "resultRef", "resultInEvents", "progress"),
    status: "Succeeded",
    completedMs: nowMs,
    ...result,
  };
  return { next, event: { type: "status", status: "Succeeded" } };
}

/**
 * A failed attempt. With `retryAtMs`, `Running → Pending` (`notBefore` = `retryAtMs`,
 * one more wake-up counted); without, `Running → Failed`. `reason` says why for
 * recoveries (lease expired, shutdown) and is absent for a handler's own error.
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
  const base = { ...without(run, ...holderFields, "progress"), error };
  if (retryAtMs !== undefined) {
    const next: RunItem = {
      ...base,
      status: "Pending",
      notBeforeMs: retryAtMs,
      enqueueCount: run.enqueueCount + 1,
      statusReason: reason ?? "retry",
    };
    return {
      next,
      event: { type: "status", status: "Pending", reason: reason ?? "retry", error, retryAt: iso(retryAtMs) },
    };
  }
  const next: RunItem = {
    ...base,
    status: "Failed",
    completedMs: nowMs,
    ...(reason ? { statusReason: reason } : {}),
  };
  return { next, event: { type: "status", status: "Failed", error, ...(reason ? { reason } : {}) } };
}

/**
 * Hand-backs a run may take before it fails with {@link HandBackLimitError}: a job that
 * never finishes within its worker's lifetime must not loop forever. Five covers a run
 * caught by a few rolling deployments.
 */
export const maxHandBacks = 5;

/** Attempts of `run` that failed or were recovered (claims less hand-backs): what the retry policy counts. */
export function failedAttempts(run: Pick<RunItem, "attempt" | "handBacks">): number {
  return run.attempt - (run.handBacks ?? 0);
}

/**
 * A stopping worker hands its attempt back: `Running → Pending`, due now, without a
 * failure (the retry budget is unchanged; the next claim still raises `attempt`, which
 * fences the stopped attempt's late writes). Past {@link maxHandBacks}, `Running → Failed`
 * with {@link HandBackLimitError}.
 */
export function handBack(run: RunItem, attempt: number, nowMs: number): Transition | undefined {
  if (run.status !== "Running" || run.attempt !== attempt) return undefined;
  const handBacks = (run.handBacks ?? 0) + 1;
  if (handBacks > maxHandBacks) {
    const limit = new HandBackLimitError(run.runId, maxHandBacks);
    const error = { type: limit.name, message: limit.message };
    const reason = "handed back too often";
    const next: RunItem = {
      ...without(run, ...holderFields, "progress"),
      status: "Failed",
      error,
      statusReason: reason,
      completedMs: nowMs,
    };
    return { next, event: { type: "status", status: "Failed", error, reason } };
  }
  const reason = "handed back by a stopping worker";
  const next: RunItem = {
    ...without(run, ...holderFields, "progress"),
    status: "Pending",
    handBacks,
    enqueueCount: run.enqueueCount + 1,
    statusReason: reason,
  };
  return { next, event: { type: "status", status: "Pending", reason } };
}

/** `Pending → Failed` without an attempt (its wake-up could not be delivered), recording `error` and `reason`. */
export function failPending(
  run: RunItem,
  attempt: number,
  error: RunError,
  reason: string,
  nowMs: number,
): Transition | undefined {
  if (run.status !== "Pending" || run.attempt !== attempt) return undefined;
  const next: RunItem = {
    ...without(run, ...holderFields),
    status: "Failed",
    error,
    statusReason: reason,
    completedMs: nowMs,
  };
  return { next, event: { type: "status", status: "Failed", error, reason } };
}

/** `Pending | Running → Canceled`, recording `reason`. Not applicable to a terminal run. */
export function cancel(run: RunItem, reason: string, nowMs: number): Transition | undefined {
  if (isTerminal(run.status)) return undefined;
  const next: RunItem = {
    ...without(run, ...holderFields),
    status: "Canceled",
    cancelReason: reason,
    completedMs: nowMs,
  };
  return { next, event: { type: "status", status: "Canceled", reason } };
}

/** `Pending → Canceled` because `notAfter` passed before the run started. */
export function expire(run: RunItem, nowMs: number): Transition | undefined {
  if (run.status !== "Pending" || run.notAfterMs === undefined || run.notAfterMs > nowMs) return undefined;
  return cancel(run, `notAfter passed (${iso(run.notAfterMs)}) before the run started`, nowMs);
}
