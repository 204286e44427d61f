/** Handler start/end intervals recorded by test jobs, and how deep they overlapped. */

export interface Interval {
  readonly label: string;
  readonly start: number;
  readonly end: number;
}

/** Greatest number of intervals open at once (an end at the same ms as a start closes first). */
export function maxOverlap(intervals: readonly Interval[]): number {
  const points = intervals.flatMap((i) => [
    { t: i.start, d: 1 },
    { t: i.end, d: -1 },
  ]);
  points.sort((a, b) => a.t - b.t || a.d - b.d);
  let open = 0;
  let max = 0;
  for (const p of points) {
    open += p.d;
    max = Math.max(max, open);
  }
  return max;
}

/** A recorder: wrap a handler body with `record(label, fn)` to log when it ran. */
export function intervalRecorder() {
  const intervals: Interval[] = [];
  return {
    intervals,
    async record<T>(label: string, fn: () => Promise<T>): Promise<T> {
      const start = Date.now();
      try {
        return await fn();
      } finally {
        intervals.push({ label, start, end: Date.now() });
      }
    },
  };
}
