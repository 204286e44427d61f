/**
 * What a transition frees besides the run item, in the same transaction (invariant 1,
 * like the deduplication lock): the concurrency slots of a run leaving Running (terminal,
 * retry, hand-back, recovery) and the waiter item of a run leaving Pending while it waited
 * (canceled, expired). A slot is deleted only while it is still this run's: a slot item
 * that names another holder (possible only after an out-of-band delete) is left alone.
 */
import { limitPk } from "./keys.js";
import type { RunItem } from "./run-item.js";
import type { TransactItem } from "./transact.js";

/** The slot and waiter deletes of the transition from `current` to `next` (none for most transitions). */
export function releaseItems(tableName: string, current: RunItem, next: RunItem): TransactItem[] {
  const items: TransactItem[] = [];
  if (current.slots && !next.slots) {
    for (const slot of current.slots) {
      items.push({
        Delete: {
          TableName: tableName,
          Key: { pk: slot.pk, sk: slot.sk },
          ConditionExpression: "attribute_not_exists(pk) OR runId = :id",
          ExpressionAttributeValues: { ":id": current.runId },
        },
      });
    }
  }
  if (current.waitKey !== undefined && current.waitSk !== undefined && next.waitSk === undefined) {
    items.push({
      Delete: {
        TableName: tableName,
        Key: { pk: current.waitPk ?? limitPk(current.waitKey, 0, 1), sk: current.waitSk },
      },
    });
  }
  return items;
}
