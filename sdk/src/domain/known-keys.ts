/**
 * Refusing option keys nobody reads. A misspelled key (`priorty`, `notbefore`,
 * `{ jobname }` in a filter) would otherwise be ignored without a word and the call would
 * do something else than asked (a filter that lists every run, a run at priority 0).
 */
import { ValidationError } from "../errors.js";

/**
 * Throws {@link ValidationError} naming the first key of `value` that is not in `known`
 * (its path is `${path}.${key}`), with the closest known key when one is near (same
 * letters in another case, or at most two edits away) and the list of known keys.
 */
export function assertKnownKeys(value: object, known: readonly string[], path: string): void {
  for (const key of Object.keys(value)) {
    if (known.includes(key)) continue;
    const near = closest(key, known);
    throw new ValidationError(
      `${path}.${key}`,
      `is not an option${near ? `; did you mean "${near}"?` : ""} (known: ${known.join(", ")})`,
    );
  }
}

function closest(key: string, known: readonly string[]): string | undefined {
  const lower = key.toLowerCase();
  const sameLetters = known.find((k) => k.toLowerCase() === lower);
  if (sameLetters) return sameLetters;
  let best: { key: string; distance: number } | undefined;
  for (const k of known) {
    const distance = editDistance(lower, k.toLowerCase());
    if (distance <= 2 && (!best || distance < best.distance)) best = { key: k, distance };
  }
  return best?.key;
}

/** Levenshtein distance (insertions, deletions and substitutions of one character each). */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}
