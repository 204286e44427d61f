/**
 * Ready-made Lambda handlers over a job app, configured from the environment
 * (`config/environment.ts`). Build them at module scope so SDK clients are reused
 * across invocations.
 */
import { connectFromEnvironment } from "../config/environment.js";
import { registerJobs } from "../connect.js";
import type { JobApp } from "../jobs/job-app.js";
import { sweep, type SweepReport } from "../maintenance/sweep.js";
import { WorkerCore } from "../worker/worker-core.js";
import { createSqsWorkerHandler } from "./sqs-worker-handler.js";

/**
 * The worker function's handler: SQS lane batches in, partial batch failures out.
 * Writes the app's job records on the first invocation of each execution environment.
 *
 * @example
 * ```ts
 * // functions/worker.ts
 * import { app } from "../jobs.js";
 * export const handler = createWorkerLambdaHandler(app);
 * ```
 */
export function createWorkerLambdaHandler(app: JobApp, env: NodeJS.ProcessEnv = process.env) {
  const system = connectFromEnvironment({ app }, env);
  const core = new WorkerCore({ app, store: system.store, dispatcher: system.dispatcher, client: system.client });
  const handle = createSqsWorkerHandler({ core, dispatcher: system.dispatcher });
  let registered: Promise<void> | undefined;
  return async (...args: Parameters<typeof handle>) => {
    registered ??= registerJobs(system, app);
    await registered;
    return handle(...args);
  };
}

/** The maintenance function's handler (run every minute by a schedule): one sweep. */
export function createMaintenanceLambdaHandler(app: JobApp, env: NodeJS.ProcessEnv = process.env) {
  const system = connectFromEnvironment({ app }, env);
  return async (): Promise<SweepReport> => sweep({ store: system.store, dispatcher: system.dispatcher, app });
}
