/**
 * The set of jobs a process knows: workers execute them, clients check names and
 * argument schemas against them.
 */
import type { StandardSchemaV1 } from "@standard-schema/spec";
import { ValidationError } from "../errors.js";
import type { JobHandler } from "./job-context.js";
import { JobDefinition } from "./job-definition.js";

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
