/** Sleeping that an `AbortSignal` cuts short. */
import { onAbort } from "./abort-listeners.js";

/** Resolves after `ms`, or rejects with the signal's reason as soon as `signal` aborts. */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      stopListening();
      resolve();
    }, ms);
    const stopListening = signal
      ? onAbort(signal, () => {
          clearTimeout(timer);
          reject(signal.reason);
        })
      : () => undefined;
  });
}

/**
 * Poll delays that start short and grow by half each time up to `maxMs`: a quick run
 * is seen within tens of milliseconds, a long one costs about one read per `maxMs`.
 */
export function* adaptiveDelays(maxMs: number, firstMs = 20): Generator<number, never> {
  for (let delay = Math.min(firstMs, maxMs); ; delay = Math.min(maxMs, Math.ceil(delay * 1.5))) yield delay;
}

/**
 * Delays between polls of a run that is awaited. With `expectedMs` (how long runs of
 * its job took lately), the first poll is just before then and the next ones follow
 * closely (a quarter of the time waited, at least 5 ms) until twice that; without, or
 * after that, 5 ms at first and then half the time waited so far, up to `maxMs`. A run
 * that ends when expected is seen with one read; one that ends otherwise within half
 * (or a quarter) of its age, and a long one costs about one read per `maxMs`.
 */
export function* waitDelays(maxMs: number, expectedMs?: number, firstMs = 5): Generator<number, never> {
  let waited = 0;
  const expected = expectedMs !== undefined && Number.isFinite(expectedMs) ? expectedMs : undefined;
  if (expected !== undefined && expected > firstMs) {
    waited = Math.min(maxMs, Math.floor(expected * 0.9));
    yield waited;
  }
  for (;;) {
    const share = expected !== undefined && waited < 2 * expected ? 4 : 2;
    const delay = Math.min(maxMs, Math.max(firstMs, Math.ceil(waited / share)));
    waited += delay;
    yield delay;
  }
}
