/**
 * One `abort` listener per signal, however many calls wait on it: many concurrent
 * `run()` calls under one `AbortSignal` (a parent's `ctx.signal` shared by its children,
 * say) would otherwise add a listener each, and Node warns
 * (`MaxListenersExceededWarning`) past 10 on one signal.
 */

const callbacks = new WeakMap<AbortSignal, Set<() => void>>();

/**
 * Calls `callback` once when `signal` aborts (at once, on the next microtask, if it
 * already has). Returns a function that stops listening; call it when done waiting.
 */
export function onAbort(signal: AbortSignal, callback: () => void): () => void {
  if (signal.aborted) {
    queueMicrotask(callback);
    return () => undefined;
  }
  let set = callbacks.get(signal);
  if (!set) {
    const waiting = new Set<() => void>();
    set = waiting;
    callbacks.set(signal, waiting);
    signal.addEventListener(
      "abort",
      () => {
        callbacks.delete(signal);
        for (const fire of [...waiting]) fire();
      },
      { once: true },
    );
  }
  const once = () => {
    set.delete(once);
    callback();
  };
  set.add(once);
  return () => {
    set.delete(once);
  };
}
