/**
 * The mark a parent run carries once an attempt of it created children
 * (`spawnedAttempt`): written by that attempt's child client before its first child, so
 * any later write that ends the attempt shows it in the table stream and the cascade
 * canceller queries the children; the end of a run without it queries nothing.
 *
 * One conditional `UpdateItem` per parent attempt with children (1 WU), never by a run
 * without children. It only raises the mark: a late child of an earlier attempt leaves
 * the newer value. It changes no status, attempt or `seq`, so no transition's condition
 * is affected.
 */

import { UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { committed } from "./condition-failed.js";
import { runKey } from "./keys.js";
import type { RunStore } from "./run-store.js";

/** Records that attempt `attempt` of run `runId` creates children (a no-op when already recorded). */
export async function markSpawned(store: RunStore, runId: string, attempt: number): Promise<void> {
  // Already recorded (or the parent is gone, and no cascade can start from it): a failed condition.
  await committed(
    store.doc.send(
      new UpdateCommand({
        TableName: store.tableName,
        Key: runKey(runId),
        UpdateExpression: "SET #spawned = :a",
        ConditionExpression: "attribute_exists(pk) AND (attribute_not_exists(#spawned) OR #spawned < :a)",
        ExpressionAttributeNames: { "#spawned": "spawnedAttempt" },
        ExpressionAttributeValues: { ":a": attempt },
      }),
    ),
  );
}
