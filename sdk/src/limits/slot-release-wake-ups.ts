/**
 * Waking waiters when slots free, from the table's stream (the same consumer that sends
 * wake-ups, `dispatch/wake-ups.ts`): a run item that held slots and no longer does
 * (terminal, retry, hand-back, stale-lease recovery, a cancel by anyone) wakes the head
 * waiter of each limit it released. Deriving it from the table means every release path
 * wakes, including a writer that died right after its write; a repeat wakes one more
 * waiter, which finds the limit full and waits again. The worker that freed the slots
 * wakes the same way at once (the fast path): each wakes only while the limit has a free
 * slot, so the second rarely wakes anyone.
 */

import { runImages, type StreamRecords } from "../dispatch/wake-ups.js";
import type { Dispatcher } from "../queue/dispatcher.js";
import { limitKeyOf } from "../store/keys.js";
import type { SlotRef } from "../store/run-item.js";
import type { RunStore } from "../store/run-store.js";
import { readLimit } from "./limit-partition.js";
import { wakeNext } from "./waiters.js";

/** What waking needs. */
export interface ReleaseDeps {
  readonly store: RunStore;
  readonly dispatcher: Dispatcher;
}

/** Wakes the head waiter of each released slot's limit that now has a free slot. Returns how many it woke. */
export async function wakeAfterRelease(deps: ReleaseDeps, released: readonly SlotRef[]): Promise<number> {
  const woken = await Promise.all(
    released.map(async (slot) => {
      const key = limitKeyOf(slot.pk);
      const state = await readLimit(deps.store, key, slot.max);
      return state.headWaiterSk !== undefined && state.held.size < slot.max ? wakeNext(deps, key, 1) : 0;
    }),
  );
  return woken.reduce((a, b) => a + b, 0);
}

/** Builds the handler: stream records in, woken waiters out (returns how many). */
export function createSlotReleaseHandler(deps: {
  readonly store: RunStore;
  readonly dispatcher: Dispatcher;
}) {
  return async (event: StreamRecords): Promise<number> => {
    const released: string[] = [];
    for (const record of event.Records) {
      const { old, new: next } = runImages(record);
      if (!old?.slots || next?.slots) continue;
      for (const slot of old.slots) released.push(limitKeyOf(slot.pk));
    }
    const woken = await Promise.all(released.map((key) => wakeNext(deps, key, 1)));
    return woken.reduce((a, b) => a + b, 0);
  };
}
