/**
 * Ready-made Lambda handlers over a job app, configured from the environment
 * (`config/environment.ts`). Build them at module scope so SDK clients are reused
 * across invocations.
 */
import type { Context } from "aws-lambda";
import { connectFromEnvironment } from "../config/environment.js";
import { type ConnectOptions, type JobSystem, registerJobs } from "../connect.js";
import type { JobApp } from "../jobs/job-app.js";
import { type MaintenanceReport, runMaintenance } from "../maintenance/maintenance.js";
import { expireRun, isExpiryEvent } from "../timer/timer-actions.js";
import { WorkerCore } from "../worker/worker-core.js";
import { createSqsWorkerHandler } from "./sqs-worker-handler.js";

/**
 * Writes the app's job records once per execution environment. The returned function
 * never rejects: a failed write is logged and retried on the next invocation (a
 * rejected promise is never kept), and a write in progress is shared, not repeated.
 */
function registerOnce(system: JobSystem, app: JobApp): () => Promise<void> {
  let registered: Promise<void> | undefined;
  return () => {
    registered ??= registerJobs(system, app).catch((error: unknown) => {
      registered = undefined;
      console.error("writing job records failed (retried on the next invocation):", error);
    });
    return registered;
  };
}

/**
 * Runs an invocation's work beside the job records' write, never behind it: job records
 * only let clients elsewhere check job names. The invocation still ends after the write
 * settles, so it is never frozen halfway by Lambda.
 */
async function besideRegistration<T>(register: () => Promise<void>, work: () => Promise<T>): Promise<T> {
  const registering = register();
  try {
    return await work();
  } finally {
    await registering;
  }
}

/** AWS SDK clients to use instead of new default ones (for example, clients instrumented for tracing). */
export type LambdaClients = Partial<Pick<ConnectOptions, "dynamodb" | "sqs">>;

/**
 * The worker function's handler: SQS lane batches in, partial batch failures out.
 * Throws `ValidationError` at once when the app names an undefined queue or rate limit.
 * Writes the app's job records on the first invocation of each execution environment,
 * beside the batch (the messages never wait for it); a failed write is retried on the
 * next invocation.
 *
 * @example
 * ```ts
 * // functions/worker.ts
 * import { app } from "../jobs.js";
 * export const handler = createWorkerLambdaHandler(app);
 * ```
 */
export function createWorkerLambdaHandler(
  app: JobApp,
  env: NodeJS.ProcessEnv = process.env,
  clients: LambdaClients = {},
) {
  app.validate(); // a bad app fails the function's init, with the option named
  const system = connectFromEnvironment({ app, ...clients }, env);
  const core = new WorkerCore({
    app,
    store: system.store,
    dispatcher: system.dispatcher,
    client: system.client,
    ...(system.timer ? { timer: system.timer } : {}),
  });
  const handle = createSqsWorkerHandler({ core, dispatcher: system.dispatcher });
  const register = registerOnce(system, app);
  return async (...args: Parameters<typeof handle>) => besideRegistration(register, () => handle(...args));
}

/** What one maintenance invocation did: a pass's report, or an expiry's outcome. */
export type MaintenanceResult =
  | MaintenanceReport
  | { readonly expireRunId: string; readonly expired: boolean };

/** Time kept back from the function's limit when a maintenance pass plans its work, in ms. */
const maintenanceMarginMs = 10_000;

/**
 * The maintenance function's handler. Invoked every minute by the maintenance schedule:
 * one maintenance pass (`maintenance/maintenance.ts`), ended before the function's time
 * limit. Invoked by a run's expiry schedule with `{ "expireRunId": "…" }`: that run's
 * conditional expiry (a no-op unless it is still Pending past its `notAfter`).
 *
 * The first invocation of each execution environment also writes the app's job records,
 * beside its work (retried on the next invocation if it fails).
 * The system is built on the first invocation: the function is its own runs' expiry
 * target, and its own ARN comes from the invocation context (a function cannot be given
 * its own ARN in its environment without a circular reference).
 */
export function createMaintenanceLambdaHandler(app: JobApp, env: NodeJS.ProcessEnv = process.env) {
  app.validate();
  let system: JobSystem | undefined;
  let register: (() => Promise<void>) | undefined;
  return async (
    event?: unknown,
    context?: Pick<Context, "invokedFunctionArn"> & Partial<Pick<Context, "getRemainingTimeInMillis">>,
  ): Promise<MaintenanceResult> => {
    // Unqualified: the scheduler role may invoke the function's unqualified ARN only.
    const ownArn = context?.invokedFunctionArn?.split(":").slice(0, 7).join(":");
    system ??= connectFromEnvironment({ app, ...(ownArn ? { expiryTargetArn: ownArn } : {}) }, env);
    register ??= registerOnce(system, app);
    const connected = system;
    return besideRegistration(register, async () => {
      if (isExpiryEvent(event)) {
        return {
          expireRunId: event.expireRunId,
          expired: await expireRun(connected.store, event.expireRunId),
        };
      }
      const remaining = context?.getRemainingTimeInMillis?.();
      return runMaintenance({
        store: connected.store,
        dispatcher: connected.dispatcher,
        app,
        ...(connected.timer ? { timer: connected.timer } : {}),
        ...(remaining !== undefined ? { deadlineMs: Date.now() + remaining - maintenanceMarginMs } : {}),
      });
    });
  };
}
