/** Converting thrown values into the error recorded on a run. */
import type { RunError } from "../domain/run.js";

/** Longest stack kept on a run, in characters. */
const maxStackLength = 8 * 1024;

/** The recorded form of anything a handler threw (`type`, `message`, `stack`). */
export function toRunError(thrown: unknown): RunError {
  if (thrown instanceof Error) {
    return {
      type: thrown.name || thrown.constructor.name,
      message: thrown.message,
      ...(thrown.stack ? { stack: thrown.stack.slice(0, maxStackLength) } : {}),
    };
  }
  return { type: typeof thrown, message: String(thrown) };
}
