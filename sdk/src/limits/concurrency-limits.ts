/**
 * The concurrency limits a run's claim must fit under, applied together: its job's
 * (`withMaxConcurrency`), its key's (`withConcurrencyKey`) and its queue's
 * (`maxConcurrency`). A worker's own `concurrency` is the fourth: it never receives more
 * messages than it has room for. Pure: no I/O.
 */
import { concurrencyShards } from "../domain/limit-shards.js";
import type { WaitingFor } from "../domain/run.js";
import { ConcurrencyKeyError } from "../errors.js";
import type { JobDefinition } from "../jobs/job-definition.js";
import type { QueueDefinition } from "../jobs/queue-definition.js";
import type { LimitPartitions, WaitList } from "./limit-partition.js";

/** One concurrency limit: its limit key (`store/keys.ts`), its slot count, its shards and what a run waiting on it waits for. */
export interface ConcurrencyLimit extends LimitPartitions {
  readonly waitingFor: WaitingFor;
}

/** A concurrency limit of `max` slots on `key`, with its shard count (`domain/limit-shards.ts`). */
export function concurrencyLimit(key: string, max: number, waitingFor: WaitingFor): ConcurrencyLimit {
  return { key, max, shards: concurrencyShards(max), waitingFor };
}

/**
 * A queue's waiter list (runs waiting on its limit or its pause): sharded as its limit
 * is, one shard without one.
 */
export function queueWaitList(queue: Pick<QueueDefinition, "name" | "maxConcurrency">): WaitList {
  return { key: queueLimitKey(queue.name), shards: concurrencyShards(queue.maxConcurrency ?? 1) };
}

/** Longest concurrency key a key function may return (it becomes part of a table key). */
export const maxConcurrencyKeyLength = 256;

/** Limit key of a job's, a queue's and a concurrency key's limit. */
export const jobLimitKey = (jobName: string) => `job#${jobName}`;
export const queueLimitPrefix = "queue#";
export const queueLimitKey = (queue: string) => `${queueLimitPrefix}${queue}`;
export const keyLimitKey = (jobName: string, key: string) => `key#${jobName}#${key}`;

/** Whether a job's claims take concurrency slots (of the job, a key or its queue). */
export function hasConcurrencyLimits(job: JobDefinition<unknown, unknown>, queue: QueueDefinition): boolean {
  return (
    job.maxConcurrency !== undefined || job.concurrencyKey !== undefined || queue.maxConcurrency !== undefined
  );
}

/**
 * The limits of a run of `job` with `args`, job first, then key, then queue (a run that
 * fits none waits on the first that is full).
 * @throws {@link ConcurrencyKeyError} when the key function throws or returns anything
 * but a string of 1..256 characters.
 */
export function concurrencyLimitsOf(
  job: JobDefinition<unknown, unknown>,
  queue: QueueDefinition,
  args: unknown,
): ConcurrencyLimit[] {
  const limits: ConcurrencyLimit[] = [];
  if (job.maxConcurrency !== undefined)
    limits.push(concurrencyLimit(jobLimitKey(job.name), job.maxConcurrency, "job limit"));
  if (job.concurrencyKey !== undefined) {
    let key: unknown;
    try {
      key = job.concurrencyKey.key(args);
    } catch (error) {
      throw new ConcurrencyKeyError(job.name, `threw: ${(error as Error)?.message ?? String(error)}`, {
        cause: error,
      });
    }
    if (typeof key !== "string" || key.length === 0 || key.length > maxConcurrencyKeyLength) {
      const shown =
        typeof key === "string" ? `a string of ${key.length} characters` : `${typeof key} ${String(key)}`;
      throw new ConcurrencyKeyError(
        job.name,
        `returned ${shown}; it must return a string of 1..256 characters`,
      );
    }
    limits.push(concurrencyLimit(keyLimitKey(job.name, key), job.concurrencyKey.maxConcurrency, "key limit"));
  }
  if (queue.maxConcurrency !== undefined)
    limits.push(concurrencyLimit(queueLimitKey(queue.name), queue.maxConcurrency, "queue limit"));
  return limits;
}
