/**
 * `TransactWriteItems` with the outcomes this system cares about made explicit.
 *
 * A transaction is canceled as a whole; its `CancellationReasons` list one code per
 * item (DynamoDB API reference, TransactWriteItems): `ConditionalCheckFailed` is a lost
 * race and is returned to the caller, who re-reads and decides; `ThrottlingError`,
 * `TransactionConflict` and `ProvisionedThroughputExceeded` are transient and retried
 * here with jittered exponential backoff (the SDK's own retries do not cover them).
 */
import { TransactionCanceledException } from "@aws-sdk/client-dynamodb";
import { type DynamoDBDocumentClient, TransactWriteCommand } from "@aws-sdk/lib-dynamodb";
import { unmarshall } from "@aws-sdk/util-dynamodb";

type TransactItems = NonNullable<ConstructorParameters<typeof TransactWriteCommand>[0]["TransactItems"]>;
/** One item of a write transaction, in the document client's shape. */
export type TransactItem = TransactItems[number];

/**
 * Result of {@link transactWrite}: committed, or which items' conditions failed (by
 * index), with the item as it was for those written with
 * `ReturnValuesOnConditionCheckFailure: "ALL_OLD"`.
 */
export type TransactOutcome =
  | { readonly ok: true }
  | {
      readonly ok: false;
      readonly failedConditions: number[];
      readonly currentItems: ReadonlyMap<number, Record<string, unknown>>;
    };

const transientCodes = new Set(["ThrottlingError", "TransactionConflict", "ProvisionedThroughputExceeded"]);
const maxTransientRetries = 8;

/** Sleeps `ms` milliseconds. */
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * After the `race`-th lost race on one run (0-based): nothing for the first three, then a
 * jittered pause of up to 10 ms per race (at most 200 ms), so a writer out of step with a
 * busy one (a worker streaming output) falls into a gap between its writes.
 */
export async function pauseAfterLostRace(race: number): Promise<void> {
  if (race >= 3) await sleep(Math.random() * Math.min(200, 10 * race));
}

/**
 * Runs one write transaction. Returns `{ ok: false, failedConditions }` when any
 * condition failed; retries transient cancellations; rethrows anything else.
 */
export async function transactWrite(
  doc: DynamoDBDocumentClient,
  items: TransactItem[],
): Promise<TransactOutcome> {
  for (let retry = 0; ; retry++) {
    try {
      await doc.send(new TransactWriteCommand({ TransactItems: items }));
      return { ok: true };
    } catch (error) {
      if (!(error instanceof TransactionCanceledException)) throw error;
      const reasons = error.CancellationReasons ?? [];
      const codes = reasons.map((r) => r.Code ?? "None");
      const failedConditions = codes.flatMap((code, i) => (code === "ConditionalCheckFailed" ? [i] : []));
      if (failedConditions.length > 0) {
        const currentItems = new Map<number, Record<string, unknown>>();
        for (const i of failedConditions) {
          const item = reasons[i]?.Item;
          if (item) currentItems.set(i, unmarshall(item));
        }
        return { ok: false, failedConditions, currentItems };
      }
      const transient = codes.some((code) => transientCodes.has(code));
      if (!transient || retry >= maxTransientRetries) throw error;
      await sleep(Math.min(2000, 25 * 2 ** retry) * (0.5 + Math.random()));
    }
  }
}
