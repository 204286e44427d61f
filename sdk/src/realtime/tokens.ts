/**
 * Credentials of the WebSocket API, both derived from one secret (the API's token; a
 * Secrets Manager secret on AWS):
 *
 * - **The token itself**, for servers and scripts (Node clients): sent on `$connect` as
 *   `Authorization: Bearer <token>`, never in the URL, where proxies and access logs
 *   would keep it. It authorizes every subscription of that connection.
 * - **Subscription tokens**, for browsers (which cannot set headers on a WebSocket and
 *   must never hold the secret): short-lived, for one run or one batch, minted by a backend
 *   that holds the secret with {@link createSubscriptionToken}, and sent in the `subscribe`
 *   message. A batch's token is minted for its batch id (`subscribe` with `batchId`); a
 *   run's token does not open its batch, nor a batch's token its children.
 *   Format: `<payload>.<signature>`, the payload being base64url JSON `{ runId, exp }`
 *   (`exp` in epoch ms) and the signature its HMAC-SHA256 under the secret.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { ValidationError } from "../errors.js";

/** Checks the credentials clients present. */
export interface WebSocketAuthorizer {
  /** Whether `token`, a `$connect` request's bearer token, is the API's token. */
  connection(token: string): boolean | Promise<boolean>;
  /** Whether `token`, from a `subscribe` message, is a subscription token for `runId` unexpired at `nowMs`. */
  subscription(token: string, runId: string, nowMs: number): boolean | Promise<boolean>;
}

/** Lifetime of a subscription token unless told otherwise, in ms: 5 minutes. */
export const defaultSubscriptionTokenTtlMs = 5 * 60_000;
/** Longest lifetime of a subscription token, in ms: 1 hour. */
export const maxSubscriptionTokenTtlMs = 60 * 60_000;

/** Options of {@link createSubscriptionToken}. */
export interface SubscriptionTokenOptions {
  /** How long the token may be used to subscribe, in ms (a subscription made with it lasts as long as its connection). @default defaultSubscriptionTokenTtlMs */
  readonly ttlMs?: number;
  /** The time it is minted at, epoch ms. @default Date.now() */
  readonly nowMs?: number;
}

const signature = (secret: string, payload: string) =>
  createHmac("sha256", secret).update(`sluice-subscription:${payload}`).digest();

/**
 * Mints a subscription token for `runId` (a run id, or a batch id for a batch
 * subscription): what a backend holding the API's token gives a browser, which sends it
 * in its `subscribe` message (`{ "action": "subscribe", "runId": "…", "token": "…" }`, or
 * `"batchId": "…"` with a batch's token).
 *
 * @throws {@link ValidationError} an empty secret or run id, or `ttlMs` not in `(0, maxSubscriptionTokenTtlMs]`.
 * @example
 * ```ts
 * // In an API route that has checked the user may watch this run:
 * return { url: webSocketUrl, token: createSubscriptionToken(webSocketToken, runId) };
 * ```
 */
export function createSubscriptionToken(
  secret: string,
  runId: string,
  options: SubscriptionTokenOptions = {},
): string {
  const ttlMs = options.ttlMs ?? defaultSubscriptionTokenTtlMs;
  if (!secret) throw new ValidationError("secret", "is empty");
  if (!runId) throw new ValidationError("runId", "is empty");
  if (!(ttlMs > 0 && ttlMs <= maxSubscriptionTokenTtlMs)) {
    throw new ValidationError("options.ttlMs", `must be in (0, ${maxSubscriptionTokenTtlMs}], got ${ttlMs}`);
  }
  const exp = (options.nowMs ?? Date.now()) + ttlMs;
  const payload = Buffer.from(JSON.stringify({ runId, exp })).toString("base64url");
  return `${payload}.${signature(secret, payload).toString("base64url")}`;
}

/** Compares in constant time (for equal lengths). */
function sameBytes(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * The authorizer of one secret: accepts exactly `secret` on `$connect` (compared in
 * constant time) and the unexpired subscription tokens it signed. Refuses everything
 * when `secret` is empty.
 */
export function sharedTokenAuthorizer(secret: string | undefined): WebSocketAuthorizer {
  const expected = Buffer.from(secret ?? "");
  return {
    connection: (token) => expected.length > 0 && sameBytes(Buffer.from(token), expected),
    subscription(token, runId, nowMs) {
      if (!secret) return false;
      const [payload, signed, ...rest] = token.split(".");
      if (!payload || !signed || rest.length > 0) return false;
      if (!sameBytes(Buffer.from(signed, "base64url"), signature(secret, payload))) return false;
      // Signed with the secret, so written by createSubscriptionToken: JSON of this shape.
      const claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as {
        runId: string;
        exp: number;
      };
      return claims.runId === runId && claims.exp > nowMs;
    },
  };
}
