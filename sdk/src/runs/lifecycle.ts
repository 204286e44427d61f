/**
 * Commits state-machine transitions: read, decide (a pure function from
 * `domain/transitions.ts`), write conditionally; on a lost race decide again on the run
 * as it now is (returned by the failed condition), so the decision is always made on
 * the run as it is.
 */

import { isTerminal } from "../domain/run.js";
import type { Transition } from "../domain/transitions.js";
import { cancel } from "../domain/transitions.js";
import { children } from "../store/listing.js";
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
 * Cancels a run (Pending or Running → Canceled) and then every non-terminal
 * descendant, walking the parent index breadth first. Descendants of terminal children
 * are walked too: a finished child may have fire-and-forget children still running.
 * With a `timer`, each canceled run's pending timers (release, expiry) are deleted,
 * best effort: one that fires anyway finds the run Canceled and does nothing.
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
  const stored = await applyTransition(store, root, (run) => cancel(run, reason, nowMs()));
  if (stored) await deleteTimers(timer, stored);
  await cancelDescendants(store, runId, `parent run ${runId} was canceled`, nowMs, timer);
  const status = stored?.status ?? (await store.get(runId))?.status ?? root.status;
  return { runId, canceled: stored !== undefined, status };
}

/** Children canceled at once while walking a tree. */
const cancelConcurrency = 16;

/** Cancels every non-terminal descendant of `runId` (not the run itself), deleting their timers like {@link cancelRunTree}. */
export async function cancelDescendants(
  store: RunStore,
  runId: string,
  reason: string,
  nowMs: () => number,
  timer?: RunTimer,
): Promise<void> {
  const queue = [runId];
  for (let parent = queue.shift(); parent !== undefined; parent = queue.shift()) {
    const ids: string[] = [];
    for await (const childId of children(store, parent)) ids.push(childId);
    for (let i = 0; i < ids.length; i += cancelConcurrency) {
      await Promise.all(
        ids.slice(i, i + cancelConcurrency).map(async (childId) => {
          queue.push(childId);
          const child = await store.get(childId);
          if (!child || isTerminal(child.status)) return;
          const stored = await applyTransition(store, child, (run) => cancel(run, reason, nowMs()));
          if (stored) await deleteTimers(timer, stored);
        }),
      );
    }
  }
}

/** Deletes a canceled run's timers; a failure only means a timer fires into a terminal run (a no-op). */
async function deleteTimers(timer: RunTimer | undefined, run: RunItem): Promise<void> {
  const purposes = timerPurposesOf(run);
  if (!timer || purposes.length === 0) return;
  await timer.cancelSchedules(run, purposes).catch(() => undefined);
}
