import { describe, expect, it } from "vitest";
import { type Duration, toMillis } from "../../sdk/src/domain/duration.js";
import { ValidationError } from "../../sdk/src/errors.js";

describe("toMillis", () => {
  it.each<[Duration, number]>([
    [1500, 1500],
    [0, 0],
    ["500ms", 500],
    ["5s", 5_000],
    ["2m", 120_000],
    ["1.5h", 5_400_000],
    ["1d", 86_400_000],
    ["250", 250],
  ])("converts %j to %d ms", (value, expected) => {
    expect(toMillis(value, "timeout")).toBe(expected);
  });

  it("rounds fractional milliseconds to whole ones", () => {
    expect(toMillis(1.4, "timeout")).toBe(1);
    expect(toMillis(1.6, "timeout")).toBe(2);
  });

  it.each<[string, Duration]>([
    ["a negative number", -1],
    ["a negative string", "-5s"],
  ])("rejects %s, naming the path", (_label, value) => {
    const call = () => toMillis(value, "retry.initialDelay");
    expect(call).toThrow(ValidationError);
    expect(call).toThrow(`retry.initialDelay: ${JSON.stringify(value)} is negative; durations are >= 0`);
  });

  it.each<[string, Duration]>([
    ["NaN", Number.NaN],
    ["Infinity", Number.POSITIVE_INFINITY],
    ["an unknown unit", "5 fortnights" as Duration],
    ["words", "soon" as Duration],
  ])("rejects %s as not a duration", (_label, value) => {
    const call = () => toMillis(value, "timeout");
    expect(call).toThrow(ValidationError);
    expect(call).toThrow(/^timeout: .* is not a duration; use milliseconds or "5s", "2m", "1h"$/);
  });
});

describe("the Duration type", () => {
  it("accepts what ms parses and rejects other strings at compile time (checked by tsc)", () => {
    const accepted: Duration[] = ["30s", "5m", "1.5 hours", "2H", "100", 250];
    // @ts-expect-error: not a number followed by a unit
    const typo: Duration = "ten seconds";
    expect(accepted.map((d) => toMillis(d, "d"))).toEqual([30_000, 300_000, 5_400_000, 7_200_000, 100, 250]);
    expect(() => toMillis(typo, "d")).toThrow(ValidationError);
  });
});
