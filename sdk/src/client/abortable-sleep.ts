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
