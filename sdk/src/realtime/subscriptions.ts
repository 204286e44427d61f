/**
 * WebSocket subscriptions in the table: two items per subscription, one keyed by run
 * (for the fanout) and one by connection (for cleanup on disconnect). Both expire
 * after {@link subscriptionTtlSeconds}, API Gateway's maximum connection duration (2 h,
 * API Gateway quotas), in case a `$disconnect` is never delivered.
 */

import { BatchWriteCommand, GetCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { isConditionFailed } from "../store/condition-failed.js";
import { batchKey, connectionPk, connectionSubscriptionKey, runKey, subscriptionKey } from "../store/keys.js";
import type { RunStore } from "../store/run-store.js";
import { sleep } from "../store/transact.js";

/** Lifetime of a subscription item, in seconds. */
export const subscriptionTtlSeconds = 2 * 3600;

/**
 * Subscribes `connectionId` to `runId`: marks the run watched, then writes both
 * subscription items. Once this returns, the fanout pushes every event committed after
 * it to the connection. Writes nothing for a run that does not exist.
 *
 * @returns `"run-not-found"` when there is no such run.
 */
export async function subscribe(
  store: RunStore,
  connectionId: string,
  runId: string,
  nowMs = Date.now(),
): Promise<"subscribed" | "run-not-found"> {
  if (!(await markWatched(store, runId))) return "run-not-found";
  await putSubscription(store, connectionId, runId, nowMs);
  return "subscribed";
}

/**
 * Subscribes `connectionId` to the batch `batchId` (the fanout looks up a batch's
 * subscribers on every write of its event log, so there is no mark to set).
 * @returns `"batch-not-found"` when there is no such batch.
 */
export async function subscribeBatch(
  store: RunStore,
  connectionId: string,
  batchId: string,
  nowMs = Date.now(),
): Promise<"subscribed" | "batch-not-found"> {
  const found = await store.doc.send(
    new GetCommand({ TableName: store.tableName, Key: batchKey(batchId), ProjectionExpression: "pk" }),
  );
  if (!found.Item) return "batch-not-found";
  await putSubscription(store, connectionId, batchId, nowMs);
  return "subscribed";
}

/** Both subscription items (`runId` holds the run or batch id). */
async function putSubscription(store: RunStore, connectionId: string, runId: string, nowMs: number) {
  const expiresAt = Math.floor(nowMs / 1000) + subscriptionTtlSeconds;
  const fields = { kind: "sub", connectionId, runId, expiresAt };
  await batchWrite(store, [
    { PutRequest: { Item: { ...subscriptionKey(runId, connectionId), ...fields } } },
    { PutRequest: { Item: { ...connectionSubscriptionKey(connectionId, runId), ...fields } } },
  ]);
}

/**
 * Marks the run as watched, so the fanout looks up its subscribers (see `fanout.ts`).
 * Conditional on nothing but the run existing: it never conflicts with a transition.
 * Returns whether the run exists (a failed condition returns the item, if any, so this
 * is the only read).
 */
async function markWatched(store: RunStore, runId: string): Promise<boolean> {
  try {
    await store.doc.send(
      new UpdateCommand({
        TableName: store.tableName,
        Key: runKey(runId),
        UpdateExpression: "SET watched = :true",
        ConditionExpression: "attribute_exists(pk) AND attribute_not_exists(watched)",
        ExpressionAttributeValues: { ":true": true },
        ReturnValuesOnConditionCheckFailure: "ALL_OLD",
      }),
    );
    return true;
  } catch (error) {
    if (!isConditionFailed(error)) throw error;
    return (error as { Item?: unknown }).Item !== undefined;
  }
}

export async function unsubscribe(store: RunStore, connectionId: string, runId: string): Promise<void> {
  await deleteItems(store, [
    subscriptionKey(runId, connectionId),
    connectionSubscriptionKey(connectionId, runId),
  ]);
}

/**
 * Connection ids subscribed to `runId` (expired items are skipped: DynamoDB TTL deletes
 * lazily). Strongly consistent, so a subscription written a moment ago is seen.
 */
export async function subscribers(store: RunStore, runId: string, nowMs = Date.now()): Promise<string[]> {
  const ids: string[] = [];
  for await (const item of store.query<{ connectionId: string; expiresAt: number }>({
    KeyConditionExpression: "pk = :pk",
    ExpressionAttributeValues: { ":pk": subscriptionKey(runId, "").pk },
    ConsistentRead: true,
  })) {
    if (item.expiresAt * 1000 > nowMs) ids.push(item.connectionId);
  }
  return ids;
}

/**
 * Removes every item of a connection: its subscriptions (both items of each) and its
 * grant (`connection-grants.ts`), all kept under its partition key.
 */
export async function dropConnection(store: RunStore, connectionId: string): Promise<void> {
  const keys: { pk: string; sk: string }[] = [];
  for await (const item of store.query<{ pk: string; sk: string; runId?: string }>({
    KeyConditionExpression: "pk = :pk",
    ExpressionAttributeValues: { ":pk": connectionPk(connectionId) },
  })) {
    keys.push({ pk: item.pk, sk: item.sk });
    if (item.runId !== undefined) keys.push(subscriptionKey(item.runId, connectionId));
  }
  await deleteItems(store, keys);
}

async function deleteItems(store: RunStore, keys: { pk: string; sk: string }[]): Promise<void> {
  await batchWrite(
    store,
    keys.map((Key) => ({ DeleteRequest: { Key } })),
  );
}

type WriteRequest = {
  PutRequest?: { Item: Record<string, unknown> };
  DeleteRequest?: { Key: Record<string, unknown> };
};

/** BatchWriteItem in chunks of 25 (its limit), re-sending unprocessed items with backoff. */
async function batchWrite(store: RunStore, requests: WriteRequest[]): Promise<void> {
  for (let i = 0; i < requests.length; i += 25) {
    let pending = requests.slice(i, i + 25);
    for (let retry = 0; pending.length > 0; retry++) {
      if (retry > 0) await sleep(Math.min(1000, 20 * 2 ** retry));
      const out = await store.doc.send(
        new BatchWriteCommand({ RequestItems: { [store.tableName]: pending } }),
      );
      pending = (out.UnprocessedItems?.[store.tableName] ?? []) as WriteRequest[];
    }
  }
}
