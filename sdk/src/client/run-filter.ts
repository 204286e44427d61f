/**
 * `getRuns` filters, and the listing each becomes. Runs are listed through the sharded
 * `KEYS_ONLY` indexes (`store/listing.ts`): by parent when the filter names one, else by
 * job (every job with a record when it names none), newest first, with the creation
 * range as a key condition. Status (and a job name under a parent) are checked on the
 * run items read for the listing.
 *
 * Reads per matching run: one eventually consistent run item read (0.5 read units per
 * 4 KB) for each run in the listed partitions and range, divided by the share that
 * matches the status filter; plus about one index page (1 MB, 0.5 units per 4 KB) per
 * 100 listed runs and shard. A listing is exact: index keys never change, so each run
 * appears once however its status changes while the listing pages.
 */

import { assertKnownKeys } from "../domain/known-keys.js";
import { type RunStatus, runStatuses } from "../domain/run.js";
import { ValidationError } from "../errors.js";
import { allShards, jobPk, parentPk } from "../store/keys.js";
import type { ShardedListing } from "../store/listing.js";
import type { RunItem } from "../store/run-item.js";
import { IndexName } from "../store/table-definition.js";

/** Which runs `getRuns` lists. Every field is optional; given fields must all match. */
export interface RunFilter {
  readonly jobName?: string;
  readonly status?: RunStatus;
  readonly parentRunId?: string;
  /** The children of this batch, in commit order (ordinal), instead of newest first. */
  readonly batchId?: string;
  /** Only runs created after this time, exclusive (a Date or ISO 8601 string; millisecond precision). */
  readonly createdAfter?: Date | string;
  /** Only runs created before this time, exclusive (a Date or ISO 8601 string; millisecond precision). */
  readonly createdBefore?: Date | string;
  /** Items per DynamoDB page. @default 100 */
  readonly pageSize?: number;
}

const runFilterKeys = [
  "jobName",
  "status",
  "parentRunId",
  "batchId",
  "createdAfter",
  "createdBefore",
  "pageSize",
] as const satisfies readonly (keyof RunFilter)[];

/** How a filter is listed. */
export interface ListingPlan {
  /** The listing needs the names of every job (no job or parent in the filter). */
  readonly needsJobNames: boolean;
  /** The sharded listing, given the job names when {@link ListingPlan.needsJobNames}. */
  readonly listing: (jobNames: readonly string[]) => ShardedListing;
  /** Whether a listed run matches the rest of the filter. */
  readonly matches: (run: RunItem) => boolean;
}

/**
 * Plans the listing of `filter`.
 * @throws {@link ValidationError} an unknown status, a bad date or page size, a reversed range,
 * a key that is not a filter (`{ jobname }` would otherwise list every run).
 */
export function planListing(filter: RunFilter = {}): ListingPlan {
  assertKnownKeys(filter, runFilterKeys, "filter");
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
  const afterMs = toMs(filter.createdAfter, "filter.createdAfter");
  const beforeMs = toMs(filter.createdBefore, "filter.createdBefore");
  if (afterMs !== undefined && beforeMs !== undefined && afterMs > beforeMs) {
    throw new ValidationError(
      "filter.createdAfter",
      `${iso(afterMs)} is later than createdBefore (${iso(beforeMs)})`,
    );
  }
  // Both bounds are exclusive: equal bounds match no run (and BETWEEN would be reversed).
  const empty = afterMs !== undefined && afterMs === beforeMs;
  // Sort keys are `<created ISO>#<runId>`: "after t" is "at or after t + 1 ms", and any
  // key of a run created at `before` sorts after the bare ISO string, so `<` excludes it.
  const range = rangeOf(
    afterMs === undefined ? undefined : iso(afterMs + 1),
    beforeMs === undefined ? undefined : iso(beforeMs),
  );
  const byParent = filter.parentRunId !== undefined;
  const listing = (jobNames: readonly string[]): ShardedListing => {
    const partitionKeys = empty
      ? []
      : byParent
        ? allShards.map((shard) => parentPk(filter.parentRunId as string, shard))
        : (filter.jobName !== undefined ? [filter.jobName] : jobNames).flatMap((name) =>
            allShards.map((shard) => jobPk(name, shard)),
          );
    return {
      indexName: byParent ? IndexName.byParent : IndexName.byJob,
      partitionAttribute: byParent ? "parentPk" : "jobPk",
      partitionKeys,
      ...(range ? { range } : {}),
      pageSize,
    };
  };
  return {
    needsJobNames: !byParent && filter.jobName === undefined,
    listing,
    matches: (run) =>
      (filter.status === undefined || run.status === filter.status) &&
      (!byParent || filter.jobName === undefined || run.jobName === filter.jobName) &&
      (filter.batchId === undefined || filter.jobName === undefined || run.jobName === filter.jobName) &&
      (filter.batchId === undefined ||
        filter.parentRunId === undefined ||
        run.parentRunId === filter.parentRunId) &&
      inRange(run.createdMs, afterMs, beforeMs, filter.batchId !== undefined),
  };
}

/** A batch listing reads children by ordinal, so its creation range is checked on each run. */
function inRange(
  ms: number,
  afterMs: number | undefined,
  beforeMs: number | undefined,
  check: boolean,
): boolean {
  return !check || ((afterMs === undefined || ms > afterMs) && (beforeMs === undefined || ms < beforeMs));
}

function rangeOf(after: string | undefined, before: string | undefined): ShardedListing["range"] {
  if (after !== undefined && before !== undefined) {
    return {
      expression: "createdSk BETWEEN :after AND :before",
      values: { ":after": after, ":before": before },
    };
  }
  if (after !== undefined) return { expression: "createdSk >= :after", values: { ":after": after } };
  if (before !== undefined) return { expression: "createdSk < :before", values: { ":before": before } };
  return undefined;
}

function toMs(value: Date | string | undefined, path: string): number | undefined {
  if (value === undefined) return undefined;
  const ms = value instanceof Date ? value.getTime() : Date.parse(value);
  if (!Number.isFinite(ms)) throw new ValidationError(path, `${String(value)} is not a valid date`);
  return ms;
}

const iso = (ms: number) => new Date(ms).toISOString();
