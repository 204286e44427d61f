/**
 * The WebSocket API's credentials (`sdk/src/realtime/tokens.ts`): the API's token on
 * `$connect`, and short-lived subscription tokens for one run, signed with it.
 */
import { describe, expect, it } from "vitest";
import { ValidationError } from "../../sdk/src/errors.js";
import {
  createSubscriptionToken,
  defaultSubscriptionTokenTtlMs,
  maxSubscriptionTokenTtlMs,
  sharedTokenAuthorizer,
} from "../../sdk/src/realtime/tokens.js";

const secret = "s3cret-token-of-the-api";
const nowMs = Date.UTC(2030, 0, 1);
const authorizer = sharedTokenAuthorizer(secret);

describe("sharedTokenAuthorizer", () => {
  it("accepts exactly the API's token on $connect, and nothing when it has none", () => {
    expect(authorizer.connection(secret)).toBe(true);
    expect(authorizer.connection(`${secret}x`)).toBe(false);
    expect(authorizer.connection("")).toBe(false);
    expect(sharedTokenAuthorizer(undefined).connection("")).toBe(false);
    expect(sharedTokenAuthorizer("").connection("")).toBe(false);
  });

  it("accepts a subscription token for its run until it expires, never the API's token itself", () => {
    const token = createSubscriptionToken(secret, "R1", { nowMs });
    expect(authorizer.subscription(token, "R1", nowMs)).toBe(true);
    expect(authorizer.subscription(token, "R1", nowMs + defaultSubscriptionTokenTtlMs - 1)).toBe(true);
    expect(authorizer.subscription(token, "R1", nowMs + defaultSubscriptionTokenTtlMs)).toBe(false);
    expect(authorizer.subscription(token, "R2", nowMs)).toBe(false);
    expect(authorizer.subscription(secret, "R1", nowMs)).toBe(false);
  });

  it("refuses a token signed with another secret, or altered", () => {
    const foreign = createSubscriptionToken("another-secret", "R1", { nowMs });
    expect(authorizer.subscription(foreign, "R1", nowMs)).toBe(false);
    const [, signature] = createSubscriptionToken(secret, "R1", { nowMs }).split(".");
    const longer = Buffer.from(JSON.stringify({ runId: "R1", exp: nowMs + maxSubscriptionTokenTtlMs * 24 }));
    expect(authorizer.subscription(`${longer.toString("base64url")}.${signature}`, "R1", nowMs)).toBe(false);
    expect(authorizer.subscription("not-a-token", "R1", nowMs)).toBe(false);
    expect(authorizer.subscription("a.b.c", "R1", nowMs)).toBe(false);
    expect(sharedTokenAuthorizer(undefined).subscription(foreign, "R1", nowMs)).toBe(false);
  });
});

describe("createSubscriptionToken", () => {
  it("takes a lifetime up to one hour", () => {
    const token = createSubscriptionToken(secret, "R1", { nowMs, ttlMs: maxSubscriptionTokenTtlMs });
    expect(authorizer.subscription(token, "R1", nowMs + maxSubscriptionTokenTtlMs - 1)).toBe(true);
    for (const ttlMs of [0, -1, maxSubscriptionTokenTtlMs + 1, Number.NaN]) {
      expect(() => createSubscriptionToken(secret, "R1", { ttlMs })).toThrow(ValidationError);
    }
    expect(() => createSubscriptionToken("", "R1")).toThrow(ValidationError);
    expect(() => createSubscriptionToken(secret, "")).toThrow(ValidationError);
  });
});
