import { JobSystemError } from "../errors.js";

/**
 * The WebSocket API refused to observe a run: `$connect` answered an HTTP error (code
 * `Unauthorized` for 401, else `ConnectRefused`), or `subscribe` answered an error frame
 * (its code, `protocol.ts`).
 */
export class SubscriptionError extends JobSystemError {
  override name = "SubscriptionError" as const;
  readonly code: string;
  constructor(code: string, message: string) {
    super(`${code}: ${message}`);
    this.code = code;
  }
}
