/**
 * What a timer does when it fires, shared by every implementation: the release is a
 * lane message (`Dispatcher.sendMessageInput`), the expiry is this conditional
 * transition. On AWS the expiry runs in the maintenance function, invoked by the
 * schedule with an {@link ExpiryEvent}.
 */
import { expire } from "../domain/transitions.js";
import { applyTransition } from "../runs/lifecycle.js";
import type { RunStore } from "../store/run-store.js";

/** The payload an expiry schedule invokes the maintenance function with. */
export interface ExpiryEvent {
  readonly expireRunId: string;
}

/** Whether a maintenance invocation is an expiry (anything else is the per-minute maintenance pass). */
export function isExpiryEvent(event: unknown): event is ExpiryEvent {
  return (
    typeof event === "object" &&
    event !== null &&
    typeof (event as Partial<ExpiryEvent>).expireRunId === "string" &&
    (event as ExpiryEvent).expireRunId.length > 0
  );
}

/**
 * Cancels the run with the expiry reason if it is still Pending and its `notAfter` has
 * passed by `nowMs()`; otherwise does nothing (it started, ended, or the timer fired
 * early). Returns whether this call expired it. Safe to repeat.
 */
export async function expireRun(
  store: RunStore,
  runId: string,
  nowMs: () => number = Date.now,
): Promise<boolean> {
  return (await applyTransition(store, runId, (run) => expire(run, nowMs()))) !== undefined;
}
