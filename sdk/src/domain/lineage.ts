/**
 * How a parent's fate reaches its children (SPEC.md, "Owners and children"), as pure
 * functions on run items:
 *
 * - {@link cascadeOrderOf}: which write of a parent asks for its children to be canceled.
 *   A parent that ends Canceled or Failed cancels its non-terminal children; one that
 *   goes back to Pending (a retry, a hand-back) cancels the children its ended attempt
 *   created; a Succeeded child reached by a cascade is marked (`descendantsCanceled`), and
 *   that mark cancels its own children. Children of a Succeeded parent go on.
 * - {@link earlierAttemptsOrder}: the same for the children of earlier attempts, carried
 *   out by the worker that claims a retry before its handler starts.
 * - {@link orphanReason}: checked before a child is claimed, so a child created after the
 *   cascade read its parent's children (or missed by the eventually consistent index)
 *   never starts.
 *
 * Only a run with `spawnedAttempt` has children (it is recorded before the first child of
 * an attempt is created), so the ends of other runs ask for nothing and cost no read.
 */
import type { RunItem } from "../store/run-item.js";
import { isTerminal } from "./run.js";

/** What the cascade canceller does for one parent (see `runs/cascade-cancel.ts`). */
export interface CascadeOrder {
  readonly parentRunId: string;
  /** The cancel reason of the children it cancels (names the parent). */
  readonly reason: string;
  /** What started the cascade (`run <id> ended Canceled`): the mark left on Succeeded children. */
  readonly cause: string;
  /** Only children created by this attempt of the parent or an earlier one. @default every child */
  readonly throughAttempt?: number;
}

/** The cascade a write from `old` to `next` asks for, or `undefined` for none. */
export function cascadeOrderOf(
  old: RunItem | undefined,
  next: RunItem | undefined,
): CascadeOrder | undefined {
  if (!old || !next || next.spawnedAttempt === undefined) return undefined;
  const parentRunId = next.runId;
  if ((next.status === "Canceled" || next.status === "Failed") && !isTerminal(old.status)) {
    const cause = `run ${parentRunId} ended ${next.status}`;
    return { parentRunId, cause, reason: `parent ${cause}` };
  }
  if (old.status === "Running" && next.status === "Pending" && next.spawnedAttempt >= old.attempt) {
    const cause = attemptEnded(parentRunId, old.attempt);
    return { parentRunId, cause, reason: `parent ${cause}`, throughAttempt: old.attempt };
  }
  if (next.descendantsCanceled !== undefined && old.descendantsCanceled === undefined) {
    const cause = next.descendantsCanceled;
    return { parentRunId, cause, reason: markedReason(parentRunId, cause) };
  }
  return undefined;
}

/**
 * The order a newly claimed attempt carries out before its handler starts: the children
 * of earlier attempts, when one of them created children (the stream's order for the
 * attempt that ended may not have been carried out yet). `undefined` for none.
 */
export function earlierAttemptsOrder(claimed: RunItem): CascadeOrder | undefined {
  const spawned = claimed.spawnedAttempt;
  if (spawned === undefined || spawned >= claimed.attempt) return undefined;
  const cause = attemptEnded(claimed.runId, spawned);
  return {
    parentRunId: claimed.runId,
    cause,
    reason: `parent ${cause}`,
    throughAttempt: claimed.attempt - 1,
  };
}

/** Whether `child` is one the order cancels (or marks): created by an attempt the order covers. */
export function inScope(order: CascadeOrder, child: Pick<RunItem, "parentAttempt">): boolean {
  return (
    order.throughAttempt === undefined ||
    child.parentAttempt === undefined ||
    child.parentAttempt <= order.throughAttempt
  );
}

/**
 * Why a child created by attempt `parentAttempt` of `parent` must not start, or
 * `undefined` when it may: its parent ended Canceled or Failed, or was marked by a
 * cascade, or has moved past the attempt that created it (that attempt was retried or
 * handed back). A parent that is gone (purged) does not hold a child back.
 */
export function orphanReason(
  parent: RunItem | undefined,
  parentAttempt: number | undefined,
): string | undefined {
  if (!parent) return undefined;
  if (parent.status === "Canceled" || parent.status === "Failed")
    return `parent run ${parent.runId} ended ${parent.status}`;
  if (parent.descendantsCanceled !== undefined) return markedReason(parent.runId, parent.descendantsCanceled);
  const moved = parent.status === "Pending" || parent.attempt !== parentAttempt;
  if (parentAttempt !== undefined && moved) return `parent ${attemptEnded(parent.runId, parentAttempt)}`;
  return undefined;
}

const attemptEnded = (runId: string, attempt: number) =>
  `run ${runId} attempt ${attempt} ended without succeeding`;

const markedReason = (runId: string, cause: string) => `parent run ${runId} succeeded, but ${cause}`;
