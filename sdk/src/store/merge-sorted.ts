/** Merging sorted async sequences into one (the listing shards of an index). */

/**
 * Merges iterables that are each sorted by `key` (descending, or ascending with
 * `ascending`) into one sorted sequence, reading each source only as far as needed.
 */
export async function* mergeSorted<T>(
  sources: AsyncIterable<T>[],
  key: (item: T) => string,
  ascending = false,
): AsyncIterable<T> {
  const iterators = sources.map((s) => s[Symbol.asyncIterator]());
  const before = (a: string, b: string) => (ascending ? a < b : a > b);
  try {
    const heads = await Promise.all(iterators.map((it) => it.next()));
    for (;;) {
      let best = -1;
      for (let i = 0; i < heads.length; i++) {
        const head = heads[i];
        if (!head || head.done) continue;
        const current = heads[best];
        if (best < 0 || (current && !current.done && before(key(head.value), key(current.value)))) best = i;
      }
      const winner = heads[best];
      if (best < 0 || !winner || winner.done) return;
      yield winner.value;
      heads[best] = await (iterators[best] as AsyncIterator<T>).next();
    }
  } finally {
    await Promise.all(iterators.map((it) => it.return?.()));
  }
}
