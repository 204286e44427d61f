/**
 * Streamed arguments (pipelines). An `AsyncIterable` inside a trigger's arguments is
 * not JSON: the client replaces it with a placeholder naming it, stores the rest, and
 * pumps the iterable's items into the new run's input (`streams/input-log.ts`). The
 * worker puts an `AsyncIterable` back in the placeholder's place that yields those items
 * as they arrive (and records them as `input` events of the run's log as its handler
 * consumes them). A rerun copies the original's input, so it replays it.
 */
import { maxJsonDepth } from "../domain/json.js";

/** Marker property of a placeholder: `{ [streamMarker]: "<name>" }`. */
export const streamMarker = "__jobsInputStream";

/** Whether a value is an async iterable (and not a string). */
export function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] === "function"
  );
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * Replaces every async iterable in `args` (at any depth of plain objects and arrays)
 * with a placeholder named by its path (`args.values`, `args.sources[1]`).
 */
export function extractStreams(args: unknown): {
  args: unknown;
  streams: Map<string, AsyncIterable<unknown>>;
} {
  const streams = new Map<string, AsyncIterable<unknown>>();
  const ancestors = new Set<object>();
  const walk = (value: unknown, path: string): unknown => {
    if (isAsyncIterable(value)) {
      streams.set(path, value);
      return { [streamMarker]: path };
    }
    // A cycle, or nesting past maxJsonDepth, is left as it is: `toJson` reports it with its path.
    if (typeof value !== "object" || value === null || ancestors.has(value)) return value;
    if (ancestors.size >= maxJsonDepth) return value;
    ancestors.add(value);
    try {
      if (Array.isArray(value)) return value.map((item, i) => walk(item, `${path}[${i}]`));
      if (isPlainObject(value)) {
        return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, walk(v, `${path}.${k}`)]));
      }
      return value;
    } finally {
      ancestors.delete(value);
    }
  };
  const replaced = walk(args, "args");
  return { args: streams.size > 0 ? replaced : args, streams };
}

/** Puts `open(name)` in place of every placeholder in `args`. */
export function injectStreams(args: unknown, open: (name: string) => AsyncIterable<unknown>): unknown {
  const walk = (value: unknown): unknown => {
    if (isPlainObject(value)) {
      const name = value[streamMarker];
      if (typeof name === "string" && Object.keys(value).length === 1) return open(name);
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, walk(v)]));
    }
    if (Array.isArray(value)) return value.map(walk);
    return value;
  };
  return walk(args);
}

/** Whether stored arguments contain any placeholder (cheap check on the JSON text). */
export function hasStreams(argsJson: string | undefined): boolean {
  return argsJson?.includes(`"${streamMarker}"`) ?? false;
}

/** The names of the placeholders in stored arguments, in order. */
export function streamNames(argsJson: string | undefined): string[] {
  if (!hasStreams(argsJson)) return [];
  const names: string[] = [];
  injectStreams(JSON.parse(argsJson as string), (name) => {
    names.push(name);
    return (async function* () {})();
  });
  return names;
}
