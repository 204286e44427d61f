/**
 * Commits state-machine transitions: read, decide (a pure function from
 * `domain/transitions.ts`), write conditionally; on a lost race decide again on the run
 * as it now is (returned by the failed condition), so the decision is always made on
 * the run as it is.
 */

import type { Transition } from "../domain/transitions.js";
import { cancel } from "../domain/transitions.js";
import type { RunItem } from "../store/run-item.js";
import type { OwnWriter, RunStore } from "../store/run-store.js";
import { pauseAfterLostRace } from "../store/transact.js";
import { type RunTimer, timerPurposesOf } from "../timer/timer-port.js";

/** More lost races than this on one run in a row means something is wrong (about 20 s of retries). */
const maxRaces = 200;

/**
 * Applies `decide` to the run until it commits or stops applying. Returns the stored
 * run after the transition, or `undefined` when the transition does not apply (the run
 * is missing, or `decide` returned `undefined` for it as it now is). `own` is given by
 * the attempt's holder (see `RunStore.transition`).
 */
export async function applyTransition(
  store: RunStore,
  runOrId: string | RunItem,
  decide: (run: RunItem) => Transition | undefined,
  own?: OwnWriter,
): Promise<RunItem | undefined> {
  let run = typeof runOrId === "string" ? await store.get(runOrId) : runOrId;
  for (let race = 0; race < maxRaces; race++) {
    if (!run) return undefined;
    const transition = decide(run);
    if (!transition) return undefined;
    const outcome = await store.transition(run, transition, own);
    if ("stored" in outcome) return outcome.stored;
    run = outcome.current;
    await pauseAfterLostRace(race);
  }
  throw new Error(`run ${typeof runOrId === "string" ? runOrId : runOrId.runId}: too many concurrent writes`);
}

/** Outcome of a cancel request. */
export interface CancelOutcome {
  readonly runId: string;
  /** True when this call moved the run to Canceled; false when it was already terminal. */
  readonly canceled: boolean;
  /** The run's status after the call. */
  readonly status: RunItem["status"];
}

/**
 * Cancels a run (Pending or Running → Canceled), and only the run: its descendants are
 * canceled by the cascade canceller from the table's stream (`runs/cascade-cancel.ts`),
 * so this makes the same requests whatever the size of the tree, and the cascade goes on
 * if the caller stops. Canceling a terminal run changes nothing (`canceled: false`).
 */
export async function cancelRunTree(
  store: RunStore,
  runId: string,
  reason: string,
  nowMs: () => number,
  timer?: RunTimer,
): Promise<CancelOutcome | undefined> {
  const root = await store.get(runId);
  if (!root) return undefined;
  const stored = await cancelRun(store, root, reason, nowMs, timer);
  const status = stored?.status ?? (await store.get(runId))?.status ?? root.status;
  return { runId, canceled: stored !== undefined, status };
}

/**
 * Cancels one run if it is not terminal, then deletes its pending timers (release,
 * expiry), best effort: one that fires anyway finds the run Canceled and does nothing.
 * Returns the stored run, or `undefined` when it was (or became) terminal first.
 */
export async function cancelRun(
  store: RunStore,
  runOrId: string | RunItem,
  reason: string,
  nowMs: () => number,
  timer?: RunTimer,
): Promise<RunItem | undefined> {
  const stored = await applyTransition(store, runOrId, (run) => cancel(run, reason, nowMs()));
  const purposes = stored ? timerPurposesOf(stored) : [];
  if (stored && timer && purposes.length > 0)
    await timer.cancelSchedules(stored, purposes).catch(() => undefined);
  return stored;
}
