/**
 * Reading a run's event log as it grows, by polling DynamoDB with adaptive backoff:
 * 20 ms after new events, growing by half up to `maxIntervalMs` while nothing arrives.
 * Ends after the terminal status event, or when `signal` aborts (rejecting with its reason).
 */
import { abortableSleep, adaptiveDelays } from "../client/abortable-sleep.js";
import { isTerminalEvent, type RunEvent } from "../domain/run-event.js";
import type { RunStore } from "../store/run-store.js";

export interface PollEventsOptions {
  /** Yield events after this id (0 for all). @default 0 */
  readonly sinceEventId?: number;
  readonly signal?: AbortSignal;
  /** @default 1000 */
  readonly maxIntervalMs?: number;
}

export async function* pollRunEvents(
  store: RunStore,
  runId: string,
  options: PollEventsOptions = {},
): AsyncGenerator<RunEvent> {
  let last = options.sinceEventId ?? 0;
  let delays = adaptiveDelays(options.maxIntervalMs ?? 1000);
  for (;;) {
    options.signal?.throwIfAborted();
    let got = false;
    for await (const event of store.events(runId, last)) {
      got = true;
      last = event.eventId;
      yield event;
      if (isTerminalEvent(event)) return;
    }
    if (got) delays = adaptiveDelays(options.maxIntervalMs ?? 1000);
    await abortableSleep(delays.next().value, options.signal);
  }
}
