/**
 * `getRuns` filters, and the query each becomes: the most selective index the filter
 * allows (parent, then job, then status), the rest as a filter expression. With no key
 * filter, the five status partitions are merged newest first.
 */
import type { QueryCommandInput } from "@aws-sdk/lib-dynamodb";
import { type RunStatus, runStatuses } from "../domain/run.js";
import { ValidationError } from "../errors.js";
import { jobPk, parentPk, statusPk } from "../store/keys.js";
import { IndexName } from "../store/table-definition.js";

/** Which runs `getRuns` lists. Every field is optional; given fields must all match. */
export interface RunFilter {
  readonly jobName?: string;
  readonly status?: RunStatus;
  readonly parentRunId?: string;
  /** Only runs created at or after this time (a Date or ISO 8601 string). */
  readonly createdAfter?: Date | string;
  /** Only runs created before this time. */
  readonly createdBefore?: Date | string;
  /** Items per DynamoDB page. @default 100 */
  readonly pageSize?: number;
}

type Query = Omit<QueryCommandInput, "TableName">;

/** The queries whose merged, newest-first results are the runs matching `filter`. */
export function queriesFor(filter: RunFilter = {}): Query[] {
  if (filter.status !== undefined && !runStatuses.includes(filter.status)) {
    throw new ValidationError(
      "filter.status",
      `${JSON.stringify(filter.status)} is not one of ${runStatuses.join(", ")}`,
    );
  }
  const pageSize = filter.pageSize ?? 100;
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 1000) {
    throw new ValidationError("filter.pageSize", `${pageSize} is not an integer in 1..1000`);
  }
  const after = toIso(filter.createdAfter, "filter.createdAfter");
  const before = toIso(filter.createdBefore, "filter.createdBefore");
  if (after !== undefined && before !== undefined && after > before) {
    throw new ValidationError("filter.createdAfter", `${after} is later than createdBefore (${before})`);
  }
  const values: Record<string, unknown> = {};
  const names: Record<string, string> = {};
  const filters: string[] = [];
  const addFilter = (attr: string, value: string) => {
    names[`#${attr}`] = attr;
    values[`:${attr}`] = value;
    filters.push(`#${attr} = :${attr}`);
  };

  let index: string;
  let keyAttr: string;
  let keys: string[];
  if (filter.parentRunId !== undefined) {
    [index, keyAttr, keys] = [IndexName.byParent, "parentPk", [parentPk(filter.parentRunId)]];
    if (filter.jobName !== undefined) addFilter("jobName", filter.jobName);
    if (filter.status !== undefined) addFilter("status", filter.status);
  } else if (filter.jobName !== undefined) {
    [index, keyAttr, keys] = [IndexName.byJob, "jobPk", [jobPk(filter.jobName)]];
    if (filter.status !== undefined) addFilter("status", filter.status);
  } else {
    const statuses = filter.status !== undefined ? [filter.status] : runStatuses;
    [index, keyAttr, keys] = [IndexName.byStatus, "statusPk", statuses.map(statusPk)];
  }

  let range = "";
  if (after !== undefined && before !== undefined) {
    range = " AND createdSk BETWEEN :after AND :before";
  } else if (after !== undefined) {
    range = " AND createdSk >= :after";
  } else if (before !== undefined) {
    range = " AND createdSk < :before";
  }
  if (after !== undefined) values[":after"] = after;
  if (before !== undefined) values[":before"] = before;

  return keys.map((key) => ({
    IndexName: index,
    KeyConditionExpression: `${keyAttr} = :key${range}`,
    ExpressionAttributeValues: { ...values, ":key": key },
    ...(Object.keys(names).length > 0 ? { ExpressionAttributeNames: names } : {}),
    ...(filters.length > 0 ? { FilterExpression: filters.join(" AND ") } : {}),
    ScanIndexForward: false,
    Limit: pageSize,
  }));
}

function toIso(value: Date | string | undefined, path: string): string | undefined {
  if (value === undefined) return undefined;
  const ms = value instanceof Date ? value.getTime() : Date.parse(value);
  if (!Number.isFinite(ms)) throw new ValidationError(path, `${String(value)} is not a valid date`);
  return new Date(ms).toISOString();
}

/** Merges iterables that are each sorted descending by `key` into one descending sequence. */
export async function* mergeDescending<T>(
  sources: AsyncIterable<T>[],
  key: (item: T) => string,
): AsyncIterable<T> {
  const iterators = sources.map((s) => s[Symbol.asyncIterator]());
  try {
    yield* merge(iterators, key);
  } finally {
    await Promise.all(iterators.map((it) => it.return?.()));
  }
}

async function* merge<T>(iterators: AsyncIterator<T>[], key: (item: T) => string): AsyncIterable<T> {
  const heads = await Promise.all(iterators.map((it) => it.next()));
  for (;;) {
    let best = -1;
    for (let i = 0; i < heads.length; i++) {
      const head = heads[i];
      if (!head || head.done) continue;
      const current = heads[best];
      if (best < 0 || (current && !current.done && key(head.value) > key(current.value))) best = i;
    }
    const winner = heads[best];
    if (best < 0 || !winner || winner.done) return;
    yield winner.value;
    heads[best] = await (iterators[best] as AsyncIterator<T>).next();
  }
}
