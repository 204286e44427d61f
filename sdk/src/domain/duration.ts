/**
 * Durations: a number of milliseconds, or a string such as `"5s"`, `"2m"`, `"1.5h"`
 * (parsed by the `ms` package). Converted once, where an option is read.
 */
import ms, { type StringValue } from "ms";
import { ValidationError } from "../errors.js";

/** A duration: milliseconds as a number, or a string like `"500ms"`, `"5s"`, `"2m"`, `"1h"`, `"1d"`. */
export type Duration = number | StringValue;

/**
 * Converts a {@link Duration} to whole milliseconds. Throws {@link ValidationError}
 * (naming `path`) for a negative, non-finite or unparseable value.
 */
export function toMillis(value: Duration, path: string): number {
  let millis: unknown;
  try {
    millis = typeof value === "number" ? value : ms(value);
  } catch {
    millis = undefined; // ms throws on empty and non-string input: reported below
  }
  if (typeof millis !== "number" || !Number.isFinite(millis)) {
    throw new ValidationError(
      path,
      `${JSON.stringify(value)} is not a duration; use milliseconds or "5s", "2m", "1h"`,
    );
  }
  if (millis < 0) throw new ValidationError(path, `${JSON.stringify(value)} is negative; durations are >= 0`);
  return Math.round(millis);
}
