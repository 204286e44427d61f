/**
 * Counts AWS SDK requests by service and operation with a middleware, so a benchmark
 * can report what one call costs (DESIGN.md "Cost": keep the count in sight).
 */
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { SQSClient } from "@aws-sdk/client-sqs";

export class RequestCounter {
  readonly counts = new Map<string, number>();

  /** Adds the counting middleware to a client. */
  attach(client: DynamoDBClient | SQSClient, service: string): void {
    (client.middlewareStack as { add: (mw: unknown, opts: unknown) => void }).add(
      (next: (args: unknown) => Promise<unknown>, context: { commandName?: string }) => async (args: unknown) => {
        const key = `${service}.${(context.commandName ?? "?").replace(/Command$/, "")}`;
        this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
        return next(args);
      },
      { step: "initialize", name: `requestCounter-${service}` },
    );
  }

  reset(): void {
    this.counts.clear();
  }

  /** Counts divided by `per`, sorted by key. */
  table(per = 1): Record<string, number> {
    return Object.fromEntries([...this.counts.entries()].sort().map(([k, v]) => [k, Math.round((v / per) * 100) / 100]));
  }
}
