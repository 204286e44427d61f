/**
 * Which store errors mean "no answer": the request may or may not have been applied (a
 * connection refused, reset or timed out, a 5xx), as when DynamoDB (or the local
 * stack's DynamoDB Local, killed and restarted) is away. A write that failed so is
 * tried again until the store answers; only its answer tells what happened.
 */

/** Error names of a throttled request: not applied, and worth trying again later. */
const throttlingNames = new Set([
  "ThrottlingException",
  "ProvisionedThroughputExceededException",
  "RequestLimitExceeded",
  "TooManyRequestsException",
]);

/** Node's codes of a request that got no HTTP answer. */
const networkCodes = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EAI_AGAIN",
  "ENOTFOUND",
]);

interface SdkErrorShape {
  readonly name?: string;
  readonly code?: string;
  readonly $metadata?: { readonly httpStatusCode?: number };
  readonly $retryable?: unknown;
  readonly cause?: unknown;
}

/** `error` and the errors it wraps (`cause`), a few levels deep. */
function* chain(error: unknown): Generator<SdkErrorShape> {
  let current = error;
  for (let depth = 0; depth < 5 && typeof current === "object" && current !== null; depth++) {
    yield current as SdkErrorShape;
    current = (current as SdkErrorShape).cause;
  }
}

/** Whether `e` itself (not what it wraps) got no answer. */
function unanswered(e: SdkErrorShape): boolean {
  if (e.code !== undefined && networkCodes.has(e.code)) return true;
  if (e.name === "TimeoutError" || e.name === "RequestTimeout") return true;
  const status = e.$metadata?.httpStatusCode;
  return status !== undefined && status >= 500;
}

/**
 * Whether `error` came without the store's answer: the request may have been applied, or
 * not. An error wrapping one (`EventsWriteError`) is judged by its `cause`.
 */
export function isUnanswered(error: unknown): boolean {
  for (const e of chain(error)) if (unanswered(e)) return true;
  return false;
}

/** Whether `error` is the store being away or busy (unanswered, or throttled): worth trying again, unlike a refusal. */
export function isStoreUnavailable(error: unknown): boolean {
  for (const e of chain(error))
    if (unanswered(e) || (e.name !== undefined && throttlingNames.has(e.name)) || e.$retryable) return true;
  return false;
}

/** Jittered pause before the `tries`-th retry (0-based): up to 100 ms doubling to 6.4 s. */
export function unavailablePause(tries: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.random() * 100 * 2 ** Math.min(tries, 6)));
}
