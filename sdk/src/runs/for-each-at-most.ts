/** Bounded concurrency over an async iterable (the cascade and the batch canceller settle many runs at once). */

/** Runs `task` for each item, at most `limit` at once; stops taking items at the first failure and throws it once the running ones settle. */
export async function forEachAtMost<T>(
  limit: number,
  items: AsyncIterable<T>,
  task: (item: T) => Promise<void>,
): Promise<void> {
  const running = new Set<Promise<void>>();
  let failed: { error: unknown } | undefined;
  for await (const item of items) {
    if (failed) break;
    const run: Promise<void> = task(item)
      .catch((error: unknown) => {
        failed ??= { error };
      })
      .finally(() => running.delete(run));
    running.add(run);
    if (running.size >= limit) await Promise.race(running);
  }
  await Promise.all(running);
  if (failed) throw failed.error;
}
