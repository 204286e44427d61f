/** The worker's side of a streamed argument: an async iterable over the run's input chunks of one name. */
import { abortableSleep, adaptiveDelays } from "../client/abortable-sleep.js";
import { JobSystemError } from "../errors.js";
import type { RunStore } from "../store/run-store.js";
import { type InputChunk, inputIdleTimeoutMs, readInputChunks } from "./input-log.js";

/** The source of a streamed argument failed; its items so far were delivered. */
export class InputStreamError extends JobSystemError {
  override name: string = "InputStreamError";
  readonly streamName: string;
  constructor(streamName: string, message: string) {
    super(`input stream ${streamName} failed: ${message}`);
    this.streamName = streamName;
  }
}

/**
 * The producer of a streamed argument wrote nothing, not even a keep-alive, for
 * `inputIdleTimeoutMs` (30 s): its process is gone. The items so far were delivered.
 */
export class InputStalledError extends InputStreamError {
  override name = "InputStalledError" as const;
  constructor(streamName: string, idleMs: number) {
    super(streamName, `its producer wrote nothing for ${idleMs} ms (it is gone, or stopped writing)`);
  }
}

/**
 * Yields the items of input stream `name` of run `runId` in order, as they are
 * written, until its last chunk; throws {@link InputStreamError} if that chunk carries an
 * error, and {@link InputStalledError} if no chunk comes for `inputIdleTimeoutMs`.
 * `onChunk` sees each chunk as it is consumed (the worker records it as events).
 */
export async function* inputStream(
  store: RunStore,
  runId: string,
  name: string,
  signal: AbortSignal,
  onChunk: (chunk: InputChunk) => void = () => undefined,
): AsyncGenerator<unknown> {
  let last = 0;
  let delays = adaptiveDelays(250);
  let lastChunkAt = Date.now();
  for (;;) {
    signal.throwIfAborted();
    if (Date.now() - lastChunkAt > inputIdleTimeoutMs)
      throw new InputStalledError(name, Date.now() - lastChunkAt);
    let got = false;
    for await (const chunk of readInputChunks(store, runId, name, last)) {
      if (chunk.seq !== last + 1) break; // a chunk still being written: read again
      got = true;
      last = chunk.seq;
      onChunk(chunk);
      yield* chunk.items;
      if (chunk.complete) {
        if (chunk.error) throw new InputStreamError(name, chunk.error.message);
        return;
      }
    }
    if (got) {
      delays = adaptiveDelays(250);
      lastChunkAt = Date.now();
    }
    await abortableSleep(delays.next().value, signal);
  }
}
