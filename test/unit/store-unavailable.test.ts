/**
 * Which store errors mean the store did not answer (a write may or may not have been
 * applied) and which are worth trying again (`sdk/src/store/store-unavailable.ts`).
 */
import {
  ConditionalCheckFailedException,
  ProvisionedThroughputExceededException,
} from "@aws-sdk/client-dynamodb";
import { describe, expect, it } from "vitest";
import { EventsWriteError } from "../../sdk/src/store/run-store.js";
import { isStoreUnavailable, isUnanswered } from "../../sdk/src/store/store-unavailable.js";

const network = (code: string) => Object.assign(new Error(code), { code, $metadata: { attempts: 4 } });

describe("store-unavailable", () => {
  it("a connection refused, reset or timed out, a 5xx: unanswered, and worth trying again", () => {
    const errors = [
      network("ECONNREFUSED"),
      network("ECONNRESET"),
      network("ETIMEDOUT"),
      Object.assign(new Error("t"), { name: "TimeoutError" }),
      Object.assign(new Error("x"), { name: "InternalServerError", $metadata: { httpStatusCode: 500 } }),
      new EventsWriteError(2, network("ECONNREFUSED")),
    ];
    for (const error of errors) {
      expect(isUnanswered(error)).toBe(true);
      expect(isStoreUnavailable(error)).toBe(true);
    }
  });

  it("a throttled request was answered (not applied), and is worth trying again", () => {
    const throttled = new ProvisionedThroughputExceededException({ message: "slow", $metadata: {} });
    expect(isUnanswered(throttled)).toBe(false);
    expect(isStoreUnavailable(throttled)).toBe(true);
    expect(isStoreUnavailable(new EventsWriteError(0, throttled))).toBe(true);
  });

  it("a refusal is neither: a failed condition, a validation error, anything not from the store", () => {
    const errors = [
      new ConditionalCheckFailedException({ message: "failed", $metadata: { httpStatusCode: 400 } }),
      Object.assign(new Error("bad"), { name: "ValidationException", $metadata: { httpStatusCode: 400 } }),
      new Error("boom"),
      "text",
      undefined,
    ];
    for (const error of errors) {
      expect(isUnanswered(error)).toBe(false);
      expect(isStoreUnavailable(error)).toBe(false);
    }
  });
});
