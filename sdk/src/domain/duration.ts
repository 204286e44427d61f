/**
 * Durations: a number of milliseconds, or a string such as `"5s"`, `"2m"`, `"1.5h"`
 * (parsed by the `ms` package). Converted once, where an option is read.
 */
import ms from "ms";
import { ValidationError } from "../errors.js";

/** A unit `ms` parses, in the spellings it accepts (any case). */
type DurationUnitName =
  | "years"
  | "year"
  | "yrs"
  | "yr"
  | "y"
  | "weeks"
  | "week"
  | "w"
  | "days"
  | "day"
  | "d"
  | "hours"
  | "hour"
  | "hrs"
  | "hr"
  | "h"
  | "minutes"
  | "minute"
  | "mins"
  | "min"
  | "m"
  | "seconds"
  | "second"
  | "secs"
  | "sec"
  | "s"
  | "milliseconds"
  | "millisecond"
  | "msecs"
  | "msec"
  | "ms";

/** A duration unit: `"ms"`, `"s"`, `"m"`, `"h"`, `"d"`, `"w"`, `"y"` and their long forms, in any of three cases. */
export type DurationUnit = DurationUnitName | Uppercase<DurationUnitName> | Capitalize<DurationUnitName>;

/**
 * A duration: milliseconds as a number, or a string like `"500ms"`, `"5s"`, `"2m"`, `"1h"`, `"1d"`,
 * `"1.5 hours"`. Declared here rather than taken from `ms`'s types, so the published
 * declarations need no `@types/ms` and a typo (`"ten seconds"`) is a compile error.
 */
export type Duration = number | `${number}` | `${number}${DurationUnit}` | `${number} ${DurationUnit}`;

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
