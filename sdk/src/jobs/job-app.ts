/**
 * The set of jobs a process knows: workers execute them, clients check names and
 * argument schemas against them.
 */
import type { StandardSchemaV1 } from "@standard-schema/spec";
import { assertKnownKeys } from "../domain/known-keys.js";
import { ValidationError } from "../errors.js";
import type { JobHandler } from "./job-context.js";
import { defaultQueueName, JobDefinition } from "./job-definition.js";
import { type QueueDefinition, type QueueOptions, queueDefinition } from "./queue-definition.js";
import {
  type RateLimitDefinition,
  type RateLimitOptions,
  rateLimitDefinition,
} from "./rate-limit-definition.js";

/** Options of `addJob` that shape the handler's types. */
export interface AddJobOptions<TArgs> {
  /** Validates arguments at trigger time and before each execution (any Standard Schema validator). */
  readonly args: StandardSchemaV1<unknown, TArgs>;
}

/**
 * A registry of jobs.
 *
 * @example
 * ```ts
 * import { z } from "zod";
 * export const app = new JobApp();
 * export const add = app.addJob("Add", { args: z.object({ a: z.number(), b: z.number() }) },
 *   ({ a, b }) => a + b);
 * export const cleanup = app.addJob("Cleanup", async (_args, ctx) => { ctx.logger.info("swept"); });
 * ```
 */
export class JobApp {
  readonly #jobs = new Map<string, JobDefinition<never, unknown>>();
  readonly #queues = new Map<string, QueueDefinition>();
  readonly #rateLimits = new Map<string, RateLimitDefinition>();

  /**
   * Defines a queue. `default` exists without a definition (priority 0, no limits);
   * defining it sets its options. Throws `ValidationError` for a bad name or option
   * (a limit that is not an integer in 1..1000, an unknown option key) or a name defined twice.
   *
   * @example
   * ```ts
   * app.addRateLimit("smtp", { kind: "sliding", limit: 100, window: "1m" });
   * app.addQueue("mail", { priority: 5, maxConcurrency: 10, rateLimit: "smtp" });
   * app.addJob("SendMail", send).withQueue("mail");
   * ```
   */
  addQueue(name: string, options: QueueOptions = {}): QueueDefinition {
    const queue = queueDefinition(name, options);
    if (this.#queues.has(name)) throw new ValidationError("queue name", `"${name}" is already defined`);
    this.#queues.set(name, queue);
    return queue;
  }

  /**
   * Defines a rate limit that jobs (`withRateLimit`) and queues (`rateLimit`) name.
   * Throws `ValidationError` naming the option: a limit that is not an integer in
   * 1..100000, a window under 1 s, a kind other than `fixed` or `sliding`, a name defined twice.
   */
  addRateLimit(name: string, options: RateLimitOptions): RateLimitDefinition {
    const limit = rateLimitDefinition(name, options);
    if (this.#rateLimits.has(name))
      throw new ValidationError("rate limit name", `"${name}" is already defined`);
    this.#rateLimits.set(name, limit);
    return limit;
  }

  /** The queue with this name (`default` always exists), or `undefined`. */
  getQueue(name: string): QueueDefinition | undefined {
    return this.#queues.get(name) ?? (name === defaultQueueName ? { name, priority: 0 } : undefined);
  }

  /** Every defined queue, `default` included. */
  queues(): QueueDefinition[] {
    const defined = [...this.#queues.values()];
    return this.#queues.has(defaultQueueName)
      ? defined
      : [{ name: defaultQueueName, priority: 0 }, ...defined];
  }

  /** The rate limit with this name, or `undefined`. */
  getRateLimit(name: string): RateLimitDefinition | undefined {
    return this.#rateLimits.get(name);
  }

  /** Every defined rate limit. */
  rateLimits(): RateLimitDefinition[] {
    return [...this.#rateLimits.values()];
  }

  /**
   * Checks that every queue and rate limit a job or queue names is defined. Called when
   * the app is registered (`registerJobs`, the local stack, the Lambda handlers).
   * @throws {@link ValidationError} naming the job or queue and the unknown name.
   */
  validate(): void {
    const unknown = (path: string, kind: string, name: string, known: readonly string[]) =>
      new ValidationError(path, `${kind} "${name}" is not defined (defined: ${known.join(", ") || "none"})`);
    const rateNames = [...this.#rateLimits.keys()];
    for (const queue of this.#queues.values()) {
      if (queue.rateLimit !== undefined && !this.#rateLimits.has(queue.rateLimit))
        throw unknown(`queue "${queue.name}".rateLimit`, "rate limit", queue.rateLimit, rateNames);
    }
    for (const job of this.jobs()) {
      if (!this.getQueue(job.queue))
        throw unknown(
          `job "${job.name}" queue`,
          "queue",
          job.queue,
          this.queues().map((q) => q.name),
        );
      if (job.rateLimit !== undefined && !this.#rateLimits.has(job.rateLimit))
        throw unknown(`job "${job.name}" rateLimit`, "rate limit", job.rateLimit, rateNames);
    }
  }

  /** Whether any claim may take a slot or permit (a job or queue with a limit). */
  get hasLimits(): boolean {
    return (
      this.jobs().some((job) => job.hasOwnLimits) ||
      [...this.#queues.values()].some((q) => q.maxConcurrency !== undefined || q.rateLimit !== undefined)
    );
  }

  /**
   * Registers a job. Throws `ValidationError` for an invalid name (1-128 of
   * `A-Z a-z 0-9 _ . : -`) or a name already registered.
   */
  addJob<TArgs = unknown, TResult = unknown>(
    name: string,
    handler: JobHandler<TArgs, TResult>,
  ): JobDefinition<TArgs, Awaited<TResult>>;
  addJob<TArgs, TResult = unknown>(
    name: string,
    options: AddJobOptions<TArgs>,
    handler: JobHandler<TArgs, TResult>,
  ): JobDefinition<TArgs, Awaited<TResult>>;
  addJob<TArgs, TResult>(
    name: string,
    handlerOrOptions: JobHandler<TArgs, TResult> | AddJobOptions<TArgs>,
    maybeHandler?: JobHandler<TArgs, TResult>,
  ): JobDefinition<TArgs, Awaited<TResult>> {
    if (typeof handlerOrOptions === "object" && handlerOrOptions !== null)
      assertKnownKeys(handlerOrOptions, ["args"], `job "${name}" options`);
    const [handler, schema] =
      typeof handlerOrOptions === "function"
        ? [handlerOrOptions, undefined]
        : [maybeHandler, handlerOrOptions.args];
    const job = new JobDefinition<TArgs, Awaited<TResult>>(
      name,
      handler as JobHandler<TArgs, Awaited<TResult>>,
      schema,
    );
    if (this.#jobs.has(name)) throw new ValidationError("job name", `"${name}" is already registered`);
    this.#jobs.set(name, job as unknown as JobDefinition<never, unknown>);
    return job;
  }

  /** The job with this name, or `undefined`. */
  getJob(name: string): JobDefinition<unknown, unknown> | undefined {
    return this.#jobs.get(name) as JobDefinition<unknown, unknown> | undefined;
  }

  /** Every registered job, in registration order. */
  jobs(): JobDefinition<unknown, unknown>[] {
    return [...this.#jobs.values()] as unknown as JobDefinition<unknown, unknown>[];
  }
}
