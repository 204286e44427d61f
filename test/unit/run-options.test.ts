import { describe, expect, it } from "vitest";
import {
  maxDeduplicationIdLength,
  maxScheduleAheadMs,
  type RunOptions,
  resolveRunOptions,
} from "../../sdk/src/domain/run-options.js";
import { rejection } from "../support/rejection.js";

const now = Date.parse("2030-06-15T12:00:00.000Z");
const hour = 3_600_000;

const rejectionOf = (options: RunOptions) => rejection(() => resolveRunOptions(options, now));

describe("resolveRunOptions", () => {
  describe("valid options", () => {
    it("returns no fields when no options are given", () => {
      expect(resolveRunOptions(undefined, now)).toEqual({});
      expect(resolveRunOptions({}, now)).toEqual({});
    });

    it("normalizes Date and zoned ISO strings to epoch milliseconds", () => {
      // Arrange
      const options: RunOptions = {
        notBefore: new Date(now + hour),
        notAfter: "2030-06-15T15:30:00+02:00",
        priority: -7,
        deduplicationId: "order-42",
      };
      // Act
      const resolved = resolveRunOptions(options, now);
      // Assert
      expect(resolved).toEqual({
        notBeforeMs: now + hour,
        notAfterMs: Date.parse("2030-06-15T13:30:00.000Z"),
        priority: -7,
        deduplicationId: "order-42",
      });
    });

    it.each([
      ["Z", "2030-06-15T13:00:00Z"],
      ["lowercase z", "2030-06-15T13:00:00.000z"],
      ["+hh:mm", "2030-06-15T14:00:00+01:00"],
      ["-hh:mm", "2030-06-15T08:00:00-05:00"],
    ])("accepts an ISO string with a %s zone", (_label, notBefore) => {
      expect(resolveRunOptions({ notBefore }, now)).toEqual({ notBeforeMs: now + hour });
    });

    it("drops a notBefore in the past: it means now", () => {
      expect(resolveRunOptions({ notBefore: new Date(now - hour) }, now)).toEqual({});
    });

    it("drops a notBefore equal to now", () => {
      expect(resolveRunOptions({ notBefore: new Date(now) }, now)).toEqual({});
    });

    it("keeps notAfter when a past notBefore is dropped", () => {
      expect(
        resolveRunOptions({ notBefore: new Date(now - hour), notAfter: new Date(now + hour) }, now),
      ).toEqual({
        notAfterMs: now + hour,
      });
    });

    it("accepts notAfter equal to notBefore", () => {
      const at = new Date(now + hour);
      expect(resolveRunOptions({ notBefore: at, notAfter: at }, now)).toEqual({
        notBeforeMs: now + hour,
        notAfterMs: now + hour,
      });
    });

    it("accepts a notBefore exactly 365 days ahead", () => {
      expect(resolveRunOptions({ notBefore: new Date(now + maxScheduleAheadMs) }, now)).toEqual({
        notBeforeMs: now + maxScheduleAheadMs,
      });
    });

    it.each([0, 1_000_000, -1_000_000])("accepts priority %d", (priority) => {
      expect(resolveRunOptions({ priority }, now)).toEqual({ priority });
    });

    it("accepts deduplication ids of 1 and 256 characters", () => {
      expect(maxDeduplicationIdLength).toBe(256);
      expect(resolveRunOptions({ deduplicationId: "x" }, now)).toEqual({ deduplicationId: "x" });
      const longest = "d".repeat(256);
      expect(resolveRunOptions({ deduplicationId: longest }, now)).toEqual({ deduplicationId: longest });
    });
  });

  describe("invalid options", () => {
    it("rejects notAfter before notBefore", () => {
      // Act
      const error = rejectionOf({ notBefore: new Date(now + 2 * hour), notAfter: new Date(now + hour) });
      // Assert
      expect(error.path).toBe("options.notAfter");
      expect(error.message).toBe(
        "options.notAfter: 2030-06-15T13:00:00.000Z is before notBefore (2030-06-15T14:00:00.000Z); the run could never start",
      );
    });

    it("rejects notAfter in the past", () => {
      const error = rejectionOf({ notAfter: new Date(now - 1) });
      expect(error.path).toBe("options.notAfter");
      expect(error.message).toContain("is already past");
    });

    it("rejects notAfter equal to now", () => {
      expect(rejectionOf({ notAfter: new Date(now) }).path).toBe("options.notAfter");
    });

    it("rejects notBefore more than 365 days ahead", () => {
      const error = rejectionOf({ notBefore: new Date(now + maxScheduleAheadMs + 1) });
      expect(error.path).toBe("options.notBefore");
      expect(error.message).toContain("more than 365 days ahead");
    });

    it.each([
      ["an invalid Date", new Date(Number.NaN)],
      ["an unparseable zoned string", "not a dateZ"],
      ["an impossible month", "2030-13-01T00:00:00Z"],
    ])("rejects %s", (_label, notBefore) => {
      const error = rejectionOf({ notBefore });
      expect(error.path).toBe("options.notBefore");
      expect(error.message).toContain("is not a valid date");
    });

    it("rejects a value that is neither a Date nor a string", () => {
      const error = rejectionOf({ notAfter: (now + hour) as unknown as string });
      expect(error.path).toBe("options.notAfter");
      expect(error.message).toContain("number is not a date");
    });

    it.each(["2030-06-15T13:00:00", "2030-06-15", "2030-06-15T13:00:00.000"])(
      "rejects the zone-less ISO string %s",
      (notBefore) => {
        const error = rejectionOf({ notBefore });
        expect(error.path).toBe("options.notBefore");
        expect(error.message).toContain("has no time zone");
      },
    );

    it.each([1.5, 1_000_001, -1_000_001, Number.NaN, Number.POSITIVE_INFINITY])(
      "rejects priority %d",
      (priority) => {
        const error = rejectionOf({ priority });
        expect(error.path).toBe("options.priority");
        expect(error.message).toContain("is not an integer in -1000000..1000000");
      },
    );

    it("rejects a priority given as a string", () => {
      expect(rejectionOf({ priority: "5" as unknown as number }).path).toBe("options.priority");
    });

    it("rejects an empty deduplication id", () => {
      const error = rejectionOf({ deduplicationId: "" });
      expect(error.path).toBe("options.deduplicationId");
      expect(error.message).toContain("must be a non-empty string");
    });

    it("rejects a deduplication id of 257 characters", () => {
      const error = rejectionOf({ deduplicationId: "d".repeat(257) });
      expect(error.message).toBe("options.deduplicationId: is 257 characters; the limit is 256");
    });

    it("rejects options that are not an object", () => {
      expect(() => resolveRunOptions(null as unknown as RunOptions, now)).toThrow(
        "options: must be an object",
      );
    });
  });
});
