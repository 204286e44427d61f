/**
 * A batch's inputs, checked and resolved before anything is written: one bad item
 * rejects the whole batch with an error naming its index (`items[3].args.when: Date is
 * not JSON; pass an ISO string`).
 */
import { toJson } from "../domain/json.js";
import { assertKnownKeys } from "../domain/known-keys.js";
import { type RunOptions, resolveRunOptions } from "../domain/run-options.js";
import { JobNotFoundError, ValidationError } from "../errors.js";
import { validateArgs } from "../jobs/args-schema.js";
import type { JobDefinition } from "../jobs/job-definition.js";
import { defaultQueueName } from "../jobs/job-definition.js";
import { assertName } from "../jobs/names.js";
import { maxBatchItems, type StoredInput } from "../store/batch-record.js";
import type { JobRecord } from "../store/run-store.js";

/** A job of a batch: its definition (anything with its `name`) or its name. */
export type BatchJobRef = string | { readonly name: string };

/**
 * One item of a mixed batch: a job, its arguments and its run options.
 * @example
 * ```ts
 * const items: BatchItem[] = [{ job: "ProcessOrder", args: { orderId: 101 } }, { job: emailReceipt, args: { orderId: 101 } }];
 * ```
 */
export interface BatchItem {
  /** The job's definition or its name. */
  readonly job: BatchJobRef;
  /** JSON arguments (at most 256 KiB serialized); omit for none. */
  readonly args?: unknown;
  /** The child's own run options (`notBefore`, `notAfter`, `priority`, `deduplicationId`). */
  readonly options?: RunOptions;
}

/** Looks a job up (throws `JobNotFoundError` for an unknown one). */
export type JobResolver = (
  name: string,
) => Promise<{ record: JobRecord; schema?: JobDefinition["argsSchema"] }>;

/**
 * Checks every item and resolves it to what its child is created from.
 * @throws {@link ValidationError} an empty list, more than {@link maxBatchItems} items, or an
 *   item with a key other than `job`, `args` and `options` (`{ job, arg }` would drop the
 *   arguments), a bad job name, non-JSON or oversized arguments, arguments failing the
 *   job's schema, or bad options, or a deduplication id two items of one job share; the
 *   path names the item (`items[3].options.priority`).
 * @throws {@link JobNotFoundError} an item names an unknown job (`batchIndex` is its index).
 */
export async function resolveBatchInputs(
  items: readonly BatchItem[],
  resolveJob: JobResolver,
  nowMs: number,
): Promise<StoredInput[]> {
  if (!Array.isArray(items)) throw new ValidationError("items", "must be an array");
  if (items.length === 0) throw new ValidationError("items", "a batch needs at least one item");
  if (items.length > maxBatchItems) {
    throw new ValidationError("items", `${items.length} items; a batch holds at most ${maxBatchItems}`);
  }
  const inputs: StoredInput[] = [];
  const dedupHolders = new Map<string, number>();
  for (const [index, item] of items.entries()) {
    const input = await resolveOne(item, index, resolveJob, nowMs);
    if (input.deduplicationId !== undefined) {
      const key = JSON.stringify([input.jobName, input.deduplicationId]);
      const first = dedupHolders.get(key);
      if (first !== undefined)
        throw new ValidationError(
          `items[${index}].options.deduplicationId`,
          `${JSON.stringify(input.deduplicationId)} is also the deduplication id of items[${first}], a run of the same job`,
        );
      dedupHolders.set(key, index);
    }
    inputs.push(input);
  }
  return inputs;
}

async function resolveOne(
  item: BatchItem,
  index: number,
  resolveJob: JobResolver,
  nowMs: number,
): Promise<StoredInput> {
  const at = `items[${index}]`;
  if (typeof item !== "object" || item === null)
    throw new ValidationError(at, "must be { job, args?, options? }");
  assertKnownKeys(item, ["job", "args", "options"], at);
  const jobName = typeof item.job === "string" ? item.job : item.job?.name;
  const resolved = withPath(at, () => {
    assertName(jobName, "job");
    return resolveRunOptions(item.options, nowMs);
  });
  const argsJson = item.args === undefined ? undefined : toJson(item.args, `${at}.args`);
  let job: Awaited<ReturnType<JobResolver>>;
  try {
    job = await resolveJob(jobName);
  } catch (error) {
    if (error instanceof JobNotFoundError) throw new JobNotFoundError(jobName, index);
    throw error;
  }
  if (job.schema) {
    const check = await validateArgs(job.schema, item.args);
    if (!check.ok) throw new ValidationError(`${at}.args`, `do not match the job's schema: ${check.detail}`);
  }
  return {
    jobName,
    ...(argsJson !== undefined ? { argsJson } : {}),
    priority: resolved.priority ?? job.record.priority ?? 0,
    queue: job.record.queue ?? defaultQueueName,
    ...(job.record.queuePriority ? { queuePriority: job.record.queuePriority } : {}),
    ...(resolved.notBeforeMs !== undefined ? { notBeforeMs: resolved.notBeforeMs } : {}),
    ...(resolved.notAfterMs !== undefined ? { notAfterMs: resolved.notAfterMs } : {}),
    ...(resolved.deduplicationId !== undefined ? { deduplicationId: resolved.deduplicationId } : {}),
  };
}

/** Runs `check`, prefixing the path of a {@link ValidationError} it throws with the item's. */
function withPath<T>(at: string, check: () => T): T {
  try {
    return check();
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    throw new ValidationError(`${at}.${error.path}`, error.message.slice(error.path.length + 2), {
      cause: error,
    });
  }
}
