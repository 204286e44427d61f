/**
 * How many DynamoDB capacity units a request costs: read from what DynamoDB reports
 * (`ConsumedCapacity`), and recomputed by AWS's billing rules where DynamoDB Local
 * reports too little or nothing. Pure functions over inputs, outputs and errors; the
 * {@link CapacityRecorder} applies them.
 *
 * Units are on-demand request units: 1 write unit (WU) writes up to 1 KB, 1 read unit
 * (RU) reads up to 4 KB strongly consistent (half that eventually consistent), and
 * transactional requests cost twice as much (AWS DynamoDB developer guide, "DynamoDB
 * read and write operations",
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/read-write-operations.html,
 * and "Amazon DynamoDB Transactions: How it works", "Capacity management for transactions",
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis.html).
 */
import {
  type CancellationReason,
  ConditionalCheckFailedException,
  type ConsumedCapacity,
  type TransactGetItem,
  TransactionCanceledException,
  type TransactWriteItem,
  type Update,
} from "@aws-sdk/client-dynamodb";
import { attributeValueBytes, itemSizeBytes, type MarshalledItem } from "./item-size.js";

/** Read and write units, e.g. of one target or one component. */
export interface CapacityUnits {
  readUnits: number;
  writeUnits: number;
}

/**
 * Units charged to one target: a table (`"jobs"`) or one of its indexes, named
 * `<table>/<index>` (`"jobs/byJob"`).
 */
export interface TargetUnits extends CapacityUnits {
  readonly target: string;
}

/** What one request cost. */
export interface RequestCost {
  readonly units: readonly TargetUnits[];
  /** Conditional writes that failed their condition (single writes, or actions of a canceled transaction). */
  readonly failedConditionalWrites: number;
}

/** Operations that accept `ReturnConsumedCapacity`, and whether they read or write. */
export const capacityOperations: Readonly<Record<string, "read" | "write">> = {
  GetItem: "read",
  Query: "read",
  Scan: "read",
  BatchGetItem: "read",
  TransactGetItems: "read",
  PutItem: "write",
  UpdateItem: "write",
  DeleteItem: "write",
  BatchWriteItem: "write",
  TransactWriteItems: "write",
};

/** Transactional requests cost twice: DynamoDB reads or writes each item twice (prepare, commit). */
const TRANSACTIONAL_FACTOR = 2;

/** Write units for writing `bytes`: 1 per started KB, at least 1. */
export function writeUnitsFor(bytes: number): number {
  return Math.max(1, Math.ceil(bytes / 1024));
}

/** Strongly consistent read units for reading `bytes`: 1 per started 4 KB, at least 1. */
export function readUnitsFor(bytes: number): number {
  return Math.max(1, Math.ceil(bytes / 4096));
}

/**
 * Bytes of the item an `UpdateItem` (or a transaction's `Update`) writes, estimated
 * client-side: the key, plus every `ExpressionAttributeValues` value, plus every
 * `ExpressionAttributeNames` name. AWS bills the larger of the item before and after the
 * update, which only the table knows: this is a lower bound when the update sets every
 * attribute it names, and too low for an item that holds more than the update touches.
 */
export function updateBytesEstimate(
  update: Pick<Update, "Key" | "ExpressionAttributeValues" | "ExpressionAttributeNames">,
): number {
  let bytes = itemSizeBytes(update.Key ?? {});
  for (const value of Object.values(update.ExpressionAttributeValues ?? {}))
    bytes += attributeValueBytes(value);
  for (const name of Object.values(update.ExpressionAttributeNames ?? {}))
    bytes += Buffer.byteLength(name, "utf8");
  return bytes;
}

/**
 * Write units of a `TransactWriteItems`, by table: per action 2 WU per started KB of
 * - `Put`: the new item;
 * - `Update`: {@link updateBytesEstimate};
 * - `Delete`, `ConditionCheck`: the key (so in practice the 2 WU minimum: the stored
 *   item's size, which AWS bills for a delete, is unknown client-side).
 * `existingItems[i]`, when given (from a cancellation reason under
 * `ReturnValuesOnConditionCheckFailure: "ALL_OLD"`), is the stored item action `i`
 * found, and raises that action's size to at least its size.
 */
export function transactWriteUnits(
  actions: readonly TransactWriteItem[],
  existingItems: readonly (MarshalledItem | undefined)[] = [],
): Map<string, number> {
  const byTable = new Map<string, number>();
  actions.forEach((action, i) => {
    const [table, bytes] = transactWriteActionBytes(action);
    const existing = existingItems[i];
    const size = existing ? Math.max(bytes, itemSizeBytes(existing)) : bytes;
    byTable.set(table, (byTable.get(table) ?? 0) + TRANSACTIONAL_FACTOR * writeUnitsFor(size));
  });
  return byTable;
}

function transactWriteActionBytes(action: TransactWriteItem): [table: string, bytes: number] {
  if (action.Put) return [action.Put.TableName ?? "?", itemSizeBytes(action.Put.Item ?? {})];
  if (action.Update) return [action.Update.TableName ?? "?", updateBytesEstimate(action.Update)];
  if (action.Delete) return [action.Delete.TableName ?? "?", itemSizeBytes(action.Delete.Key ?? {})];
  return [action.ConditionCheck?.TableName ?? "?", itemSizeBytes(action.ConditionCheck?.Key ?? {})];
}

/**
 * Read units of a `TransactGetItems`, by table: 2 RU per started 4 KB of each item. The
 * items' sizes are not known from the request, so this is the 2 RU minimum per `Get`;
 * the size-dependent part comes from what DynamoDB reports (DynamoDB Local reports it
 * per item, as AWS bills it).
 */
export function transactGetUnits(actions: readonly TransactGetItem[]): Map<string, number> {
  const byTable = new Map<string, number>();
  for (const action of actions) {
    const table = action.Get?.TableName ?? "?";
    byTable.set(table, (byTable.get(table) ?? 0) + TRANSACTIONAL_FACTOR * readUnitsFor(0));
  }
  return byTable;
}

/**
 * Units DynamoDB reported in `ConsumedCapacity` (one object or a list, one per table).
 * With `INDEXES` each table and index is its own target; with `TOTAL` the whole amount
 * goes to the table. Units without a read/write split are read or write by `kind`.
 */
export function reportedUnits(
  kind: "read" | "write",
  consumed: ConsumedCapacity | readonly ConsumedCapacity[] | undefined,
): TargetUnits[] {
  const units: TargetUnits[] = [];
  for (const c of ([] as ConsumedCapacity[]).concat(consumed ?? [])) {
    const table = c.TableName ?? "?";
    const indexes = { ...c.GlobalSecondaryIndexes, ...c.LocalSecondaryIndexes };
    const detailed = c.Table !== undefined || Object.keys(indexes).length > 0;
    if (!detailed) {
      units.push({ target: table, ...split(kind, c) });
      continue;
    }
    if (c.Table) units.push({ target: table, ...split(kind, c.Table) });
    for (const [index, capacity] of Object.entries(indexes)) {
      units.push({ target: `${table}/${index}`, ...split(kind, capacity) });
    }
  }
  return units;
}

function split(
  kind: "read" | "write",
  capacity: Pick<ConsumedCapacity, "CapacityUnits" | "ReadCapacityUnits" | "WriteCapacityUnits">,
): CapacityUnits {
  if (capacity.ReadCapacityUnits !== undefined || capacity.WriteCapacityUnits !== undefined) {
    return { readUnits: capacity.ReadCapacityUnits ?? 0, writeUnits: capacity.WriteCapacityUnits ?? 0 };
  }
  const units = capacity.CapacityUnits ?? 0;
  return kind === "read" ? { readUnits: units, writeUnits: 0 } : { readUnits: 0, writeUnits: units };
}

/**
 * What a successful request cost. For most operations that is what DynamoDB reported.
 * For transactions each table's units are the larger of the reported ones and
 * {@link transactWriteUnits} / {@link transactGetUnits}: DynamoDB Local bills a
 * `TransactWriteItems` by the total size of its items rounded once (2 WU for any number of
 * small items) and ignores `ConditionCheck`s, while the recomputation rounds per item but
 * can only estimate updates and deletes; both are, as a rule, at most what AWS bills, so
 * the larger is the closer. Index units of a transaction are the reported ones.
 */
export function successCost(operation: string, input: Record<string, unknown>, output: unknown): RequestCost {
  const kind = capacityOperations[operation];
  if (!kind) return { units: [], failedConditionalWrites: 0 };
  const reported = reportedUnits(kind, (output as { ConsumedCapacity?: ConsumedCapacity })?.ConsumedCapacity);
  const recomputed = transactionUnits(operation, input);
  return {
    units: recomputed ? raiseTables(reported, kind, recomputed) : reported,
    failedConditionalWrites: 0,
  };
}

/**
 * What a failed request cost, which DynamoDB Local does not report:
 * - A `PutItem`/`UpdateItem`/`DeleteItem` that fails its condition
 *   (`ConditionalCheckFailedException`): AWS bills 1 WU per started KB of the existing item,
 *   at least 1 (developer guide, "DynamoDB read and write operations", conditional writes).
 *   The existing item is known when the request asked for it
 *   (`ReturnValuesOnConditionCheckFailure: "ALL_OLD"`; none returned means no item, so 1 WU);
 *   otherwise it is estimated from the request: the new item for a put,
 *   {@link updateBytesEstimate} for an update, the key for a delete.
 * - A canceled transaction (`TransactionCanceledException`): its recomputed units, counted
 *   as if it had committed, with the items its cancellation reasons return. Each reason
 *   `ConditionalCheckFailed` counts as a failed conditional write.
 * Any other error costs nothing here.
 */
export function failureCost(operation: string, input: Record<string, unknown>, error: unknown): RequestCost {
  if (error instanceof ConditionalCheckFailedException && isSingleWrite(operation)) {
    const writeUnits = writeUnitsFor(failedWriteBytes(operation, input, error.Item));
    return {
      units: [{ target: String(input.TableName ?? "?"), readUnits: 0, writeUnits }],
      failedConditionalWrites: 1,
    };
  }
  if (error instanceof TransactionCanceledException) {
    const reasons: readonly CancellationReason[] = error.CancellationReasons ?? [];
    const byTable = transactionUnits(
      operation,
      input,
      reasons.map((r) => r.Item),
    );
    const kind = capacityOperations[operation] ?? "write";
    return {
      units: byTable ? raiseTables([], kind, byTable) : [],
      failedConditionalWrites: reasons.filter((r) => r.Code === "ConditionalCheckFailed").length,
    };
  }
  return { units: [], failedConditionalWrites: 0 };
}

function isSingleWrite(operation: string): boolean {
  return operation === "PutItem" || operation === "UpdateItem" || operation === "DeleteItem";
}

function failedWriteBytes(
  operation: string,
  input: Record<string, unknown>,
  returned: MarshalledItem | undefined,
): number {
  if (input.ReturnValuesOnConditionCheckFailure === "ALL_OLD") return itemSizeBytes(returned ?? {});
  if (operation === "PutItem") return itemSizeBytes((input.Item as MarshalledItem | undefined) ?? {});
  if (operation === "UpdateItem") return updateBytesEstimate(input as Pick<Update, "Key">);
  return itemSizeBytes((input.Key as MarshalledItem | undefined) ?? {});
}

/** Recomputed units by table of a transaction, or `undefined` for other operations. */
function transactionUnits(
  operation: string,
  input: Record<string, unknown>,
  existingItems?: readonly (MarshalledItem | undefined)[],
): Map<string, number> | undefined {
  if (operation === "TransactWriteItems") {
    return transactWriteUnits((input.TransactItems as TransactWriteItem[] | undefined) ?? [], existingItems);
  }
  if (operation === "TransactGetItems") {
    return transactGetUnits((input.TransactItems as TransactGetItem[] | undefined) ?? []);
  }
  return undefined;
}

/** `units` with each table's `kind` units raised to at least `floor`'s (tables missing from `units` added). */
function raiseTables(
  units: readonly TargetUnits[],
  kind: "read" | "write",
  floor: ReadonlyMap<string, number>,
): TargetUnits[] {
  const field = kind === "read" ? "readUnits" : "writeUnits";
  const raised = units.map((u) =>
    floor.has(u.target) ? { ...u, [field]: Math.max(u[field], floor.get(u.target) ?? 0) } : u,
  );
  for (const [table, value] of floor) {
    if (!units.some((u) => u.target === table))
      raised.push({ target: table, readUnits: 0, writeUnits: 0, [field]: value });
  }
  return raised;
}
