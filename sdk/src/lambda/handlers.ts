/**
 * Ready-made Lambda handlers over a job app, configured from the environment
 * (`config/environment.ts`). Build them at module scope so SDK clients are reused
 * across invocations.
 */
import type { Context } from "aws-lambda";
import { connectFromEnvironment } from "../config/environment.js";
import { type JobSystem, registerJobs } from "../connect.js";
import type { JobApp } from "../jobs/job-app.js";
import { type SweepReport, sweep } from "../maintenance/sweep.js";
import { expireRun, isExpiryEvent } from "../timer/timer-actions.js";
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
  const core = new WorkerCore({
    app,
    store: system.store,
    dispatcher: system.dispatcher,
    client: system.client,
    ...(system.timer ? { timer: system.timer } : {}),
  });
  const handle = createSqsWorkerHandler({ core, dispatcher: system.dispatcher });
  let registered: Promise<void> | undefined;
  return async (...args: Parameters<typeof handle>) => {
    registered ??= registerJobs(system, app);
    await registered;
    return handle(...args);
  };
}

/** What one maintenance invocation did: a sweep's report, or an expiry's outcome. */
export type MaintenanceResult = SweepReport | { readonly expireRunId: string; readonly expired: boolean };

/**
 * The maintenance function's handler. Invoked every minute by the maintenance schedule:
 * one sweep. Invoked by a run's expiry schedule with `{ "expireRunId": "…" }`: that run's
 * conditional expiry (a no-op unless it is still Pending past its `notAfter`).
 *
 * The first invocation of each execution environment also writes the app's job records.
 * The system is built on the first invocation: the function is its own runs' expiry
 * target, and its own ARN comes from the invocation context (a function cannot be given
 * its own ARN in its environment without a circular reference).
 */
export function createMaintenanceLambdaHandler(app: JobApp, env: NodeJS.ProcessEnv = process.env) {
  let system: JobSystem | undefined;
  let registered: Promise<void> | undefined;
  return async (
    event?: unknown,
    context?: Pick<Context, "invokedFunctionArn">,
  ): Promise<MaintenanceResult> => {
    // Unqualified: the scheduler role may invoke the function's unqualified ARN only.
    const ownArn = context?.invokedFunctionArn?.split(":").slice(0, 7).join(":");
    system ??= connectFromEnvironment({ app, ...(ownArn ? { expiryTargetArn: ownArn } : {}) }, env);
    // The job records, once per execution environment (as the worker does), so clients
    // can check job names within a minute of a deploy, before any worker has run.
    // A failed write is retried on the next invocation.
    registered ??= registerJobs(system, app).catch((error: unknown) => {
      registered = undefined;
      throw error;
    });
    await registered;
    if (isExpiryEvent(event)) {
      return { expireRunId: event.expireRunId, expired: await expireRun(system.store, event.expireRunId) };
    }
    return sweep({
      store: system.store,
      dispatcher: system.dispatcher,
      app,
      ...(system.timer ? { timer: system.timer } : {}),
    });
  };
}
