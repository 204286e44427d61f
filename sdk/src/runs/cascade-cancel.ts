/**
 * The durable cascade canceller: cancels the descendants of a run from the table's
 * stream, so no caller walks the tree and none has to stay alive for it.
 *
 * A write that ends a parent's attempt without success (Canceled, Failed, or back to
 * Pending for a retry or a hand-back) is a stream record; the stream dispatch consumer
 * turns it into a {@link CascadeOrder} (`domain/lineage.ts`) and this module carries it
 * out: one query of each `byParent` shard of the parent, the children read 100 at a
 * time (`BatchGetItem`), then one conditional cancel per non-terminal child in scope.
 * Each canceled child is a stream record of its own, so the cascade goes down the tree
 * one level per batch. A Succeeded child that has children is marked
 * (`descendantsCanceled`, one conditional `UpdateItem`), and the mark's record cancels
 * its children in turn: fire-and-forget grandchildren of a canceled tree stop too.
 *
 * Durable: a batch that fails (throttling, a timeout) is handed over again and never
 * skipped (`infra/jobs-table.ts`, `local/streams-poller.ts`), and repeating an order
 * only finds more children already terminal. A child created after its parent's order
 * was carried out, or missed by the eventually consistent index, is caught before it
 * starts (`WorkerCore`, `orphanReason`).
 *
 * A batch the parent created (its record is in the parent's `byParent` partition) is
 * canceled as a whole: one write of its record, carried out by the batch driver
 * (`batches/batch-driver.ts`).
 *
 * Entry points: {@link createCascadeCancelHandler} for stream records, and
 * {@link cancelChildren} for one order.
 */

import { UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { requestBatchCancel } from "../batches/batch-cancel.js";
import { readBatchRecord } from "../batches/batch-creation.js";
import { runImages, type StreamRecords } from "../dispatch/wake-ups.js";
import { type CascadeOrder, cascadeOrderOf, inScope } from "../domain/lineage.js";
import { isTerminal } from "../domain/run.js";
import { isConditionFailed } from "../store/condition-failed.js";
import { runKey } from "../store/keys.js";
import { childRuns } from "../store/listing.js";
import type { RunItem } from "../store/run-item.js";
import type { RunStore } from "../store/run-store.js";
import type { RunTimer } from "../timer/timer-port.js";
import { forEachAtMost } from "./for-each-at-most.js";
import { cancelRun } from "./lifecycle.js";

/** What the canceller needs. */
export interface CascadeCancelOptions {
  readonly store: RunStore;
  /** Deletes each canceled child's timers (release, expiry), best effort. */
  readonly timer?: RunTimer;
  /** Clock, epoch ms. @default Date.now */
  readonly now?: () => number;
  /** Children settled at once (each a conditional write or two). @default 32 */
  readonly concurrency?: number;
}

/** What an order (or a batch of them) did. */
export interface CascadeReport {
  orders: number;
  /** Children moved to Canceled. */
  canceled: number;
  /** Succeeded children marked, so that their own children are canceled next. */
  marked: number;
}

/** Builds the stream handler: the cascade orders a batch of records carries, carried out. */
export function createCascadeCancelHandler(options: CascadeCancelOptions) {
  return async (event: StreamRecords): Promise<CascadeReport> => {
    const orders: CascadeOrder[] = [];
    for (const record of event.Records) {
      const images = runImages(record);
      const order = cascadeOrderOf(images.old, images.new);
      if (order) orders.push(order);
    }
    return carryOut(options, orders);
  };
}

/**
 * Carries out one order: cancels the parent's non-terminal children the order covers
 * and marks its Succeeded children that have children. Safe to repeat.
 */
export function cancelChildren(options: CascadeCancelOptions, order: CascadeOrder): Promise<CascadeReport> {
  return carryOut(options, [order]);
}

async function carryOut(
  options: CascadeCancelOptions,
  orders: readonly CascadeOrder[],
): Promise<CascadeReport> {
  const report: CascadeReport = { orders: orders.length, canceled: 0, marked: 0 };
  const batches: { order: CascadeOrder; batchId: string }[] = [];
  const work = (async function* () {
    for (const order of orders) {
      const onBatch = (batchId: string) => batches.push({ order, batchId });
      for await (const child of childRuns(options.store, order.parentRunId, onBatch)) yield { order, child };
    }
  })();
  await forEachAtMost(options.concurrency ?? 32, work, async ({ order, child }) => {
    const done = await settle(options, order, child);
    if (done) report[done]++;
  });
  // A batch the parent created is canceled as a whole: one write, its children follow from the stream.
  for (const { order, batchId } of batches) await cancelChildBatch(options, order, batchId);
  return report;
}

/** Cancels or marks one child (as read, eventually consistent: a stale read loses its condition and is decided again). */
async function settle(
  options: CascadeCancelOptions,
  order: CascadeOrder,
  read: RunItem,
): Promise<"canceled" | "marked" | undefined> {
  if (!inScope(order, read)) return undefined;
  let child: RunItem | undefined = read;
  if (!isTerminal(child.status)) {
    const now = options.now ?? Date.now;
    if (await cancelRun(options.store, child, order.reason, now, options.timer)) return "canceled";
    child = await options.store.get(child.runId); // it ended meanwhile: read how
  }
  if (child?.status !== "Succeeded" || child.spawnedAttempt === undefined) return undefined;
  if (child.descendantsCanceled !== undefined) return undefined;
  return (await markDescendantsCanceled(options.store, child.runId, order.cause)) ? "marked" : undefined;
}

/** Requests the cancel of a batch in the order's scope (created by an attempt it covers). */
async function cancelChildBatch(
  options: CascadeCancelOptions,
  order: CascadeOrder,
  batchId: string,
): Promise<void> {
  const batch = await readBatchRecord(options.store, batchId);
  if (!batch || !inScope(order, batch)) return;
  await requestBatchCancel(options.store, batchId, order.reason, (options.now ?? Date.now)());
}

/** Marks a Succeeded run whose descendants are canceled; false when it already was. */
async function markDescendantsCanceled(store: RunStore, runId: string, cause: string): Promise<boolean> {
  try {
    await store.doc.send(
      new UpdateCommand({
        TableName: store.tableName,
        Key: runKey(runId),
        UpdateExpression: "SET #mark = :cause",
        ConditionExpression: "#status = :succeeded AND attribute_not_exists(#mark)",
        ExpressionAttributeNames: { "#mark": "descendantsCanceled", "#status": "status" },
        ExpressionAttributeValues: { ":cause": cause, ":succeeded": "Succeeded" },
      }),
    );
    return true;
  } catch (error) {
    if (isConditionFailed(error)) return false;
    throw error;
  }
}
