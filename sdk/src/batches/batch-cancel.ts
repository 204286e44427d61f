/**
 * The cancel request of a batch: one conditional `UpdateItem` of its record (1 WU),
 * whatever the batch's size. The batch driver (`batch-driver.ts`) carries it out from
 * the table's stream, and the claim of each child checks it (`batch-claim-check.ts`).
 */

import { UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { isConditionFailed } from "../store/condition-failed.js";
import { batchKey } from "../store/keys.js";
import type { RunStore } from "../store/run-store.js";

/**
 * Records the cancel request. Returns `"requested"`, `"already"` (an earlier request
 * stands, with its reason) or `"missing"` (no such batch).
 */
export async function requestBatchCancel(
  store: RunStore,
  batchId: string,
  reason: string,
  nowMs: number,
): Promise<"requested" | "already" | "missing"> {
  try {
    await store.doc.send(
      new UpdateCommand({
        TableName: store.tableName,
        Key: batchKey(batchId),
        UpdateExpression: "SET cancelRequested = :reason, canceledMs = :now",
        ConditionExpression: "attribute_exists(pk) AND attribute_not_exists(cancelRequested)",
        ExpressionAttributeValues: { ":reason": reason, ":now": nowMs },
        ReturnValuesOnConditionCheckFailure: "ALL_OLD",
      }),
    );
    return "requested";
  } catch (error) {
    if (!isConditionFailed(error)) throw error;
    return (error as { Item?: unknown }).Item ? "already" : "missing";
  }
}
