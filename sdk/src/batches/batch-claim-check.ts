/**
 * Checked before a batch child is claimed, next to the parent check: a child of a batch
 * whose cancel was requested is canceled instead of started. One strongly consistent
 * read of the batch record (1 RU; batch children only), so a child claimed after
 * `cancelBatch` returned never starts, even before the canceller reached it.
 */
import { GetCommand } from "@aws-sdk/lib-dynamodb";
import type { BatchRecord } from "../store/batch-record.js";
import { batchKey } from "../store/keys.js";
import type { RunStore } from "../store/run-store.js";

/** Why a child of `batchId` must not start (its batch's cancel reason), or `undefined` when it may. */
export async function canceledBatchReason(
  store: RunStore,
  batchId: string | undefined,
): Promise<string | undefined> {
  if (batchId === undefined) return undefined;
  const out = await store.doc.send(
    new GetCommand({
      TableName: store.tableName,
      Key: batchKey(batchId),
      ConsistentRead: true,
      ProjectionExpression: "cancelRequested",
    }),
  );
  return (out.Item as Pick<BatchRecord, "cancelRequested"> | undefined)?.cancelRequested;
}
