/**
 * A registered job: its name, handler and configuration. Built by `JobApp.addJob` and
 * configured with the `with*` methods, each of which validates its input and returns
 * the same definition.
 */
import type { StandardSchemaV1 } from "@standard-schema/spec";
import { type Duration, toMillis } from "../domain/duration.js";
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
import { assertName } from "./names.js";

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
    this.retry = resolveRetryPolicy(policy);
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

  /** Puts the job in a named queue (limits and pause come with queue configuration). */
  withQueue(queue: string): this {
    assertName(queue, `job "${this.name}" queue`);
    this.queue = queue;
    return this;
  }
}

/** The record of a job that workers write to the table, so any client can check the name. */
export function jobRecordOf(job: JobDefinition<unknown, unknown>): JobRecord {
  return {
    name: job.name,
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
