/** Sleeping that an `AbortSignal` cuts short. */

/** Resolves after `ms`, or rejects with the signal's reason as soon as `signal` aborts. */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
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
 * Delays between polls of a run that is awaited: 5 ms at first, then half the time
 * waited so far, up to `maxMs`. A run that ends is noticed within half its age (a 10 ms
 * run within 5 ms), and a long one costs about one read per `maxMs`.
 */
export function* waitDelays(maxMs: number, firstMs = 5): Generator<number, never> {
  let waited = 0;
  for (;;) {
    const delay = Math.min(maxMs, Math.max(firstMs, Math.ceil(waited / 2)));
    waited += delay;
    yield delay;
  }
}
