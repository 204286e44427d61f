/**
 * Waking waiters when slots free, from the table's stream (the same consumer that sends
 * wake-ups, `dispatch/wake-ups.ts`): a run item that held slots and no longer does
 * (terminal, retry, hand-back, stale-lease recovery, a cancel by anyone) wakes the head
 * waiter of each limit it released. Deriving it from the table means every release path
 * wakes, including a writer that died right after its write; a repeat wakes one more
 * waiter, which finds the limit full and waits again. The worker that freed the slots
 * wakes the same way at once (the fast path): each hands the woken run a free slot, so
 * the second finds the limit full and wakes nobody.
 */

import { runImages, type StreamRecords } from "../dispatch/wake-ups.js";
import type { Dispatcher } from "../queue/dispatcher.js";
import type { SlotRef } from "../store/run-item.js";
import type { RunStore } from "../store/run-store.js";
import { queueLimitPrefix } from "./concurrency-limits.js";
import { limitOfSlot } from "./limit-partition.js";
import { readQueuePaused } from "./queue-states.js";
import { wakeNext } from "./waiters.js";

/** What waking needs. */
export interface ReleaseDeps {
  readonly store: RunStore;
  readonly dispatcher: Dispatcher;
}

/** Wakes the head waiter of each released slot's limit while it has a free slot (handing it that slot). Returns how many it woke. */
export async function wakeAfterRelease(deps: ReleaseDeps, released: readonly SlotRef[]): Promise<number> {
  const woken = await Promise.all(
    released.map(async (slot) => {
      const limit = limitOfSlot(slot);
      // A paused queue's waiters stay asleep (one woken would only wait again, and free its slot again).
      const queue = limit.key.startsWith(queueLimitPrefix)
        ? limit.key.slice(queueLimitPrefix.length)
        : undefined;
      if (queue !== undefined && (await readQueuePaused(deps.store, queue))) return 0;
      return wakeNext(deps, limit, 1, { slots: limit.max });
    }),
  );
  return woken.reduce((a, b) => a + b, 0);
}

/** Builds the handler: stream records in, woken waiters out (returns how many). */
export function createSlotReleaseHandler(deps: ReleaseDeps) {
  return async (event: StreamRecords): Promise<number> => {
    const released: SlotRef[] = [];
    for (const record of event.Records) {
      const { old, new: next } = runImages(record);
      if (old?.slots && !next?.slots) released.push(...old.slots);
    }
    return wakeAfterRelease(deps, released);
  };
}
