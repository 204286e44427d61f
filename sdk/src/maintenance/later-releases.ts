/**
 * Maintenance pass: runs due beyond the visibility hold that no timer releases (a
 * system without one). They sit in the sparse `byLater` index, keyed by due time over
 * {@link listingShards} shards; once one is due within the hold, this pass counts one
 * more wake-up on the run and takes it out of the index (one conditional update), then
 * sends it (the table stream's consumer sends the same wake-up). Work is proportional to
 * the runs that come due, not to the backlog: each shard is read from its start only up
 * to the hold's horizon, at most `limit` runs per pass.
 */

import { UpdateCommand } from "@aws-sdk/lib-dynamodb";
import type { Dispatcher } from "../queue/dispatcher.js";
import { maxHoldMs } from "../queue/visibility.js";
import { isConditionFailed } from "../store/condition-failed.js";
import { allShards, dueSkUpTo, laterPk, runKey } from "../store/keys.js";
import type { RunItem } from "../store/run-item.js";
import type { RunStore } from "../store/run-store.js";
import { IndexName } from "../store/table-definition.js";

export interface LaterPassOptions {
  readonly store: RunStore;
  readonly dispatcher: Dispatcher;
  readonly now: () => number;
  /** Most runs released in one pass. @default 1000 */
  readonly limit?: number;
  /** Called with a run's error (the pass goes on). @default console.error */
  readonly onError?: (error: unknown) => void;
}

/** Releases the runs of `byLater` that are due within the hold; returns how many it sent. */
export async function releaseLaterRuns(
  options: LaterPassOptions,
): Promise<{ released: number; errors: number }> {
  const { store, now } = options;
  const limit = options.limit ?? 1000;
  let released = 0;
  let errors = 0;
  const horizon = dueSkUpTo(now() + maxHoldMs);
  for (const shard of allShards) {
    for await (const key of store.query<{ pk: string }>({
      IndexName: IndexName.byLater,
      KeyConditionExpression: "laterPk = :pk AND dueSk <= :upto",
      ExpressionAttributeValues: { ":pk": laterPk(shard), ":upto": horizon },
      Limit: Math.min(100, limit),
    })) {
      if (released >= limit) return { released, errors };
      try {
        const run = await release(store, key.pk.slice("RUN#".length));
        if (run) {
          await options.dispatcher.send(run);
          released++;
        }
      } catch (error) {
        errors++;
        (options.onError ?? ((e) => console.error("later release failed:", e)))(error);
      }
    }
  }
  return { released, errors };
}

/** Takes the run out of `byLater` and counts its wake-up; `undefined` when it is no longer Pending (it is taken out all the same). */
async function release(store: RunStore, runId: string): Promise<RunItem | undefined> {
  try {
    const out = await store.doc.send(
      new UpdateCommand({
        TableName: store.tableName,
        Key: runKey(runId),
        UpdateExpression: "SET enqueueCount = enqueueCount + :one REMOVE laterPk, dueSk",
        ConditionExpression: "#status = :pending AND attribute_exists(laterPk)",
        ExpressionAttributeNames: { "#status": "status" },
        ExpressionAttributeValues: { ":one": 1, ":pending": "Pending" },
        ReturnValues: "ALL_NEW",
      }),
    );
    return out.Attributes as RunItem;
  } catch (error) {
    if (!isConditionFailed(error)) throw error;
    await store.doc
      .send(
        new UpdateCommand({
          TableName: store.tableName,
          Key: runKey(runId),
          UpdateExpression: "REMOVE laterPk, dueSk",
          ConditionExpression: "attribute_exists(pk)",
        }),
      )
      .catch(() => undefined);
    return undefined;
  }
}
