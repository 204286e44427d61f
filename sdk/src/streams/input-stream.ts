/** The worker's side of a streamed argument: an async iterable over the run's `input` events of one name. */
import { JobSystemError } from "../errors.js";
import type { RunStore } from "../store/run-store.js";
import { pollRunEvents } from "./event-poller.js";

/** The source of a streamed argument failed; its items so far were delivered. */
export class InputStreamError extends JobSystemError {
  override name = "InputStreamError" as const;
  readonly streamName: string;
  constructor(streamName: string, message: string) {
    super(`input stream ${streamName} failed: ${message}`);
    this.streamName = streamName;
  }
}

/**
 * Yields the items of input stream `name` of run `runId` in order, as they are
 * written, until its `inputComplete` event; throws {@link InputStreamError} if that
 * event carries an error.
 */
export async function* inputStream(
  store: RunStore,
  runId: string,
  name: string,
  signal: AbortSignal,
): AsyncGenerator<unknown> {
  for await (const event of pollRunEvents(store, runId, { signal, maxIntervalMs: 250 })) {
    if (event.type === "input" && event.name === name) yield* event.items;
    if (event.type === "inputComplete" && event.name === name) {
      if (event.error) throw new InputStreamError(name, event.error.message);
      return;
    }
  }
}
