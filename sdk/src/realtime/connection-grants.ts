/**
 * Connections opened with the API's token (`Authorization: Bearer` on `$connect`): one
 * item per connection, so the `subscribe` route (a separate invocation that sees no
 * headers) knows the connection may subscribe to any run. Written by `$connect`, read
 * strongly consistent by `subscribe`, deleted with the connection's subscriptions on
 * `$disconnect`, and expiring with them in case that is never delivered.
 */
import { GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import { connectionGrantKey } from "../store/keys.js";
import type { RunStore } from "../store/run-store.js";
import { subscriptionTtlSeconds } from "./subscriptions.js";

/** Records that `connectionId` presented the API's token. */
export async function grantConnection(store: RunStore, connectionId: string, nowMs: number): Promise<void> {
  await store.doc.send(
    new PutCommand({
      TableName: store.tableName,
      Item: {
        ...connectionGrantKey(connectionId),
        kind: "connection",
        connectionId,
        expiresAt: Math.floor(nowMs / 1000) + subscriptionTtlSeconds,
      },
    }),
  );
}

/** Whether `connectionId` presented the API's token on `$connect` (and has not expired). */
export async function isGrantedConnection(
  store: RunStore,
  connectionId: string,
  nowMs: number,
): Promise<boolean> {
  const out = await store.doc.send(
    new GetCommand({
      TableName: store.tableName,
      Key: connectionGrantKey(connectionId),
      ConsistentRead: true,
    }),
  );
  const expiresAt = (out.Item as { expiresAt?: number } | undefined)?.expiresAt;
  return expiresAt !== undefined && expiresAt * 1000 > nowMs;
}
