/**
 * A registered job: its name, handler and configuration. Built by `JobApp.addJob` and
 * configured with the `with*` methods, each of which validates its input and returns
 * the same definition.
 */
import type { StandardSchemaV1 } from "@standard-schema/spec";
import { type Duration, toMillis } from "../domain/duration.js";
import { assertKnownKeys } from "../domain/known-keys.js";
import {
  noRetries,
  type ResolvedRetryPolicy,
  type RetryPolicy,
  resolveRetryPolicy,
} from "../domain/retry-policy.js";
import { assertPriority } from "../domain/run-options.js";
import { ValidationError } from "../errors.js";
import type { JobRecord } from "../store/run-store.js";
import type { JobHandler } from "./job-context.js";
import { assertLimit, maxConcurrencyLimit } from "./limit-options.js";
import { assertName } from "./names.js";

/**
 * A per-key concurrency limit (`withConcurrencyKey`): runs whose key function returns
 * the same string share `maxConcurrency` slots (one tenant, one customer, ...).
 */
export interface ConcurrencyKeyLimit<TArgs> {
  /** Computed from the run's arguments when it is first claimed; must return a string of 1..256 characters. */
  readonly key: (args: TArgs) => string;
  readonly maxConcurrency: number;
}

/** The queue a job is in unless `withQueue` names another. */
export const defaultQueueName = "default";

/**
 * A job. The type parameters carry the argument and result types to
 * `client.run(job, args)`, so typed jobs need no casts.
 *
 * @example
 * ```ts
 * const add = app.addJob("Add", ({ a, b }: { a: number; b: number }) => a + b)
 *   .withDescription("Adds two numbers")
 *   .withRetry({ maxRetries: 3, backoff: "exponential", initialDelay: "1s" })
 *   .withTimeout("30s");
 * const sum: number = await client.run(add, { a: 1, b: 2 });
 * ```
 */
export class JobDefinition<TArgs = unknown, TResult = unknown> {
  readonly name: string;
  readonly handler: JobHandler<TArgs, TResult>;
  /** Optional Standard Schema (zod, valibot, arktype, ...) checked at trigger time and before execution. */
  readonly argsSchema: StandardSchemaV1<unknown, TArgs> | undefined;
  description: string | undefined;
  tags: readonly string[] = [];
  retry: ResolvedRetryPolicy = noRetries;
  /** Per-attempt timeout in milliseconds; none by default. */
  timeoutMs: number | undefined;
  /** Default priority of this job's runs (a trigger's `priority` overrides it). @default 0 */
  priority = 0;
  queue: string = defaultQueueName;
  /** Most runs of this job running at once (`withMaxConcurrency`); unlimited when undefined. */
  maxConcurrency: number | undefined;
  /** The per-key limit (`withConcurrencyKey`), if any. */
  concurrencyKey: ConcurrencyKeyLimit<TArgs> | undefined;
  /** The rate limit this job's starts count against (`withRateLimit`), if any. */
  rateLimit: string | undefined;

  constructor(
    name: string,
    handler: JobHandler<TArgs, TResult>,
    argsSchema?: StandardSchemaV1<unknown, TArgs>,
  ) {
    assertName(name, "job name");
    if (typeof handler !== "function")
      throw new ValidationError(`job "${name}" handler`, "must be a function");
    this.name = name;
    this.handler = handler;
    this.argsSchema = argsSchema;
  }

  /** Sets a human-readable description (shown on the dashboard). */
  withDescription(description: string): this {
    this.description = description;
    return this;
  }

  /** Sets tags for filtering and grouping. */
  withTags(...tags: string[]): this {
    this.tags = tags;
    return this;
  }

  /**
   * Sets the retry policy: a retry count (fixed 5 s backoff with ±20% jitter), or a full
   * {@link RetryPolicy}. Throws `ValidationError` for a negative count or bad durations.
   */
  withRetry(policy: number | RetryPolicy): this {
    this.retry = resolveRetryPolicy(policy, `job "${this.name}" retry`);
    return this;
  }

  /**
   * Sets the per-attempt timeout (ms or `"30s"`, > 0). When it passes, the handler's
   * signal aborts with `JobTimeoutError` and the attempt fails; the retry policy applies.
   */
  withTimeout(timeout: Duration): this {
    const ms = toMillis(timeout, `job "${this.name}" timeout`);
    if (ms <= 0) throw new ValidationError(`job "${this.name}" timeout`, "must be > 0");
    this.timeoutMs = ms;
    return this;
  }

  /** Sets the default priority of this job's runs: an integer, higher claimed first. */
  withPriority(priority: number): this {
    assertPriority(priority, `job "${this.name}" priority`);
    this.priority = priority;
    return this;
  }

  /**
   * Puts the job in a named queue (its priority, limits and pause apply to the job's
   * runs). A queue other than `default` must be defined with `app.addQueue`: an unknown
   * name throws `ValidationError` when the app is registered.
   */
  withQueue(queue: string): this {
    assertName(queue, `job "${this.name}" queue`);
    this.queue = queue;
    return this;
  }

  /**
   * At most `n` runs of this job run at once (an integer in 1..1000), across all
   * workers. A run that cannot get a slot stays Pending (no attempt is used) and starts
   * when one frees, in claim order. Throws `ValidationError` for anything else.
   */
  withMaxConcurrency(n: number): this {
    assertLimit(n, `job "${this.name}" maxConcurrency`, maxConcurrencyLimit);
    this.maxConcurrency = n;
    return this;
  }

  /**
   * At most `options.maxConcurrency` runs with the same key run at once. `key` is
   * computed from the run's arguments at its first claim; a key function that throws or
   * returns anything but a string of 1..256 characters fails the run with
   * `ConcurrencyKeyError`. Throws `ValidationError` for a bad limit.
   *
   * @example
   * ```ts
   * app.addJob("Sync", syncTenant).withConcurrencyKey((a: { tenant: string }) => a.tenant, { maxConcurrency: 2 });
   * ```
   */
  withConcurrencyKey(key: (args: TArgs) => string, options: { readonly maxConcurrency: number }): this {
    const path = `job "${this.name}" concurrencyKey`;
    if (typeof key !== "function") throw new ValidationError(path, "must be a function of the arguments");
    if (typeof options !== "object" || options === null)
      throw new ValidationError(`${path}.maxConcurrency`, "is required");
    assertKnownKeys(options, ["maxConcurrency"], path);
    assertLimit(options.maxConcurrency, `${path}.maxConcurrency`, maxConcurrencyLimit);
    this.concurrencyKey = { key, maxConcurrency: options.maxConcurrency };
    return this;
  }

  /**
   * Counts this job's starts against the named rate limit (`app.addRateLimit`); the
   * queue's rate limit, if any, applies too. An unknown name throws `ValidationError`
   * when the app is registered.
   */
  withRateLimit(name: string): this {
    assertName(name, `job "${this.name}" rateLimit`);
    this.rateLimit = name;
    return this;
  }

  /** Whether claims of this job take slots or permits of the job itself (its queue's are the queue's). */
  get hasOwnLimits(): boolean {
    return (
      this.maxConcurrency !== undefined || this.concurrencyKey !== undefined || this.rateLimit !== undefined
    );
  }
}

/** The record of a job that workers write to the table, so any client can check the name (and its queue's priority). */
export function jobRecordOf(job: JobDefinition<unknown, unknown>, queuePriority = 0): JobRecord {
  return {
    name: job.name,
    ...(queuePriority !== 0 ? { queuePriority } : {}),
    ...(job.description !== undefined ? { description: job.description } : {}),
    tags: job.tags,
    queue: job.queue,
    priority: job.priority,
    retry: job.retry,
    ...(job.timeoutMs !== undefined ? { timeoutMs: job.timeoutMs } : {}),
    hasArgsSchema: job.argsSchema !== undefined,
  };
}

/** Argument type of a job definition. */
export type JobArgs<J> = J extends JobDefinition<infer A, unknown> ? A : never;
/** Result type of a job definition. */
export type JobResult<J> = J extends JobDefinition<infer _A, infer R> ? R : never;
