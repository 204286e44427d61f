/** Converting thrown values into the error recorded on a run. */
import type { RunError } from "../domain/run.js";

/**
 * Longest message and stack kept on a run, in characters. The error lives on the run
 * item, which every later write rewrites and bills per started KB: capped, it keeps a
 * failed run's item under 2 KB however long the thrown message (an HTTP error quoting a
 * whole response body, say).
 */
export const maxErrorMessageLength = 512;
export const maxErrorStackLength = 1024;

const cap = (text: string, max: number) => (text.length > max ? `${text.slice(0, max)}…[truncated]` : text);

/** The recorded form of anything a handler threw (`type`, `message`, `stack`), capped. */
export function toRunError(thrown: unknown): RunError {
  if (thrown instanceof Error) {
    return {
      type: cap(thrown.name || thrown.constructor.name, 100),
      message: cap(thrown.message, maxErrorMessageLength),
      ...(thrown.stack ? { stack: cap(thrown.stack, maxErrorStackLength) } : {}),
    };
  }
  const message = typeof thrown === "object" && thrown !== null ? safeJson(thrown) : String(thrown);
  return { type: typeof thrown, message: cap(message, maxErrorMessageLength) };
}

/** JSON of a thrown non-Error (`{"code":42}` rather than `[object Object]`), or its string form. */
function safeJson(value: object): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
