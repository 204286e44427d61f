/**
 * A named queue (`app.addQueue`): every job is in one (`default` unless `withQueue`). A
 * queue's priority orders its runs before other queues' runs, its `maxConcurrency` caps
 * its running runs, its `rateLimit` names a rate limit its runs share, and it can be
 * paused at run time (`client.pauseQueue`).
 */
import { assertKnownKeys } from "../domain/known-keys.js";
import { assertPriority } from "../domain/run-options.js";
import { ValidationError } from "../errors.js";
import { assertLimit, maxConcurrencyLimit } from "./limit-options.js";
import { assertName } from "./names.js";

/** Options of `app.addQueue`. */
export interface QueueOptions {
  /** Runs of a higher-priority queue are claimed before any run of a lower one. An integer. @default 0 */
  readonly priority?: number;
  /** Most runs of the queue running at once: an integer in 1..1000. @default unlimited */
  readonly maxConcurrency?: number;
  /** The name of a rate limit (`app.addRateLimit`) the queue's starts count against. @default none */
  readonly rateLimit?: string;
}

/** A validated queue. */
export interface QueueDefinition {
  readonly name: string;
  readonly priority: number;
  readonly maxConcurrency?: number;
  readonly rateLimit?: string;
}

const optionKeys = ["priority", "maxConcurrency", "rateLimit"] as const;

/** Validates `addQueue`'s input (the rate limit's name is checked when the app is registered). @throws {@link ValidationError} naming the option. */
export function queueDefinition(name: string, options: QueueOptions = {}): QueueDefinition {
  assertName(name, "queue name");
  const path = `queue "${name}"`;
  if (typeof options !== "object" || options === null)
    throw new ValidationError(path, "options must be an object");
  assertKnownKeys(options, optionKeys, path);
  if (options.priority !== undefined) assertPriority(options.priority, `${path}.priority`);
  if (options.maxConcurrency !== undefined)
    assertLimit(options.maxConcurrency, `${path}.maxConcurrency`, maxConcurrencyLimit);
  if (options.rateLimit !== undefined) assertName(options.rateLimit, `${path}.rateLimit`);
  return {
    name,
    priority: options.priority ?? 0,
    ...(options.maxConcurrency !== undefined ? { maxConcurrency: options.maxConcurrency } : {}),
    ...(options.rateLimit !== undefined ? { rateLimit: options.rateLimit } : {}),
  };
}
