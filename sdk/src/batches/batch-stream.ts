/**
 * The batch work of the stream dispatch consumer: counts and events from children's
 * records (`batch-counters.ts`), then creation and cancel steps from batch records
 * (`batch-driver.ts`). Both are safe to repeat, so a batch handed over again is harmless.
 */
import type { StreamRecords } from "../dispatch/wake-ups.js";
import type { RunStore } from "../store/run-store.js";
import type { RunTimer } from "../timer/timer-port.js";
import { createBatchCountersHandler } from "./batch-counters.js";
import { createBatchDriverHandler } from "./batch-driver.js";

export interface BatchStreamOptions {
  readonly store: RunStore;
  readonly timer?: RunTimer;
  /** Clock, epoch ms. @default Date.now */
  readonly now?: () => number;
}

/** Builds the handler (stream records in, batch counters, events, children and cancels out). */
export function createBatchStreamHandler(options: BatchStreamOptions) {
  const counters = createBatchCountersHandler(options.store, options.now);
  const driver = createBatchDriverHandler(options);
  return async (event: StreamRecords): Promise<void> => {
    await counters(event);
    await driver(event);
  };
}
