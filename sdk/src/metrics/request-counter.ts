/**
 * Counts AWS SDK requests by service and operation with a middleware, so a benchmark
 * can report what one call costs (DESIGN.md "Cost": keep the count in sight).
 */
import { addMiddleware, type SdkClient } from "./sdk-middleware.js";

/**
 * @example
 * ```ts
 * const counter = new RequestCounter();
 * counter.attach(dynamodbClient, "DynamoDB");
 * await client.run("Add", { a: 1, b: 2 });
 * console.log(counter.table()); // { "DynamoDB.GetItem": 5, "DynamoDB.TransactWriteItems": 3, ... }
 * ```
 */
export class RequestCounter {
  readonly counts = new Map<string, number>();

  /** Adds the counting middleware to a client. */
  attach(client: SdkClient, service: string): void {
    addMiddleware(client, "initialize", `requestCounter-${service}`, (next, operation) => async (args) => {
      const key = `${service}.${operation}`;
      this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
      return next(args);
    });
  }

  reset(): void {
    this.counts.clear();
  }

  /** Counts divided by `per`, sorted by key. */
  table(per = 1): Record<string, number> {
    return Object.fromEntries(
      [...this.counts.entries()].sort().map(([k, v]) => [k, Math.round((v / per) * 100) / 100]),
    );
  }
}
