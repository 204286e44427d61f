/**
 * How a new Pending run reaches a worker, decided once at creation (for `trigger` and for
 * each child of a batch): sent to its lane now and held by visibility until due, released
 * by the timer, or left to the maintenance pass (`byLater`), plus whether an expiry timer
 * is made for its `notAfter`.
 */
import { maxScheduleAheadMs } from "../domain/run-options.js";
import type { RunItem } from "../store/run-item.js";
import { type RunTimer, releasePath } from "./timer-port.js";

/** The release of a new run, and the run item fields that record it. */
export interface ReleasePlan {
  readonly path: "lane" | "timer" | "later";
  /** When the run is due, epoch ms. */
  readonly dueMs: number;
  /** An expiry timer is made at `notAfterMs` (only when the timer expires runs and the deadline is within its horizon). */
  readonly expiry: boolean;
  readonly fields: Pick<RunItem, "enqueueCount" | "timerRelease" | "timerExpiry">;
}

/** Plans the release of a run created at `nowMs` with these times (epoch ms). */
export function releasePlan(
  timer: RunTimer | undefined,
  times: { readonly notBeforeMs?: number; readonly notAfterMs?: number },
  nowMs: number,
): ReleasePlan {
  const dueMs = times.notBeforeMs ?? nowMs;
  const path = releasePath(timer, dueMs, nowMs);
  const notAfterMs = times.notAfterMs;
  const expiry =
    timer?.expiresRuns === true && notAfterMs !== undefined && notAfterMs - nowMs <= maxScheduleAheadMs;
  return {
    path,
    dueMs,
    expiry,
    fields: {
      enqueueCount: path === "later" ? 0 : 1,
      ...(path === "timer" ? { timerRelease: 0 } : {}),
      ...(expiry ? { timerExpiry: true } : {}),
    },
  };
}
