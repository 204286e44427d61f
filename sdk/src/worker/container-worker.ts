/**
 * The main loop of a container worker (ECS, Kubernetes, a VM): connect, register the
 * jobs, poll until told to stop. SIGTERM and SIGINT stop it cleanly (running handlers get
 * the shutdown grace, then their runs are handed back) and the process exits 0; a worker
 * that turns unhealthy (every slot held by a handler that ignores its aborted signal)
 * stops and exits 1, so the orchestrator replaces the container.
 */
import { connectFromEnvironment } from "../config/environment.js";
import { type JobSystem, registerJobs } from "../connect.js";
import { ValidationError } from "../errors.js";
import type { JobApp } from "../jobs/job-app.js";
import { PollingWorker, type PollingWorkerOptions } from "./polling-worker.js";

export interface ContainerWorkerOptions
  extends Omit<PollingWorkerOptions, "app" | "store" | "dispatcher" | "client" | "timer"> {
  readonly app: JobApp;
  /** The job system to work for. @default `connectFromEnvironment({ app })` (the construct's variables) */
  readonly system?: JobSystem;
  /** Signals that stop the worker. @default ["SIGTERM", "SIGINT"] */
  readonly signals?: readonly NodeJS.Signals[];
  /** Ends the process once the worker has stopped. @default process.exit */
  readonly exit?: (code: number) => void;
}

/**
 * Starts a polling worker for a container and wires its shutdown. Resolves with the
 * started worker once the jobs are registered (registration is retried three times with
 * backoff; a last failure rejects, and the process should exit).
 *
 * @example
 * ```ts
 * import { runContainerWorker } from "sluice-jobs/worker";
 * import { app } from "./jobs.js";
 * await runContainerWorker({ app, concurrency: 8 });
 * ```
 */
export async function runContainerWorker(options: ContainerWorkerOptions): Promise<PollingWorker> {
  const { app, signals = ["SIGTERM", "SIGINT"], exit = (code: number) => process.exit(code) } = options;
  const system = options.system ?? connectFromEnvironment({ app });
  for (let attempt = 1; ; attempt++) {
    try {
      await registerJobs(system, app);
      break;
    } catch (error) {
      // A bad app (an undefined queue, say) fails the same way every time: no retry.
      if (attempt >= 3 || error instanceof ValidationError) throw error;
      await new Promise((r) => setTimeout(r, 500 * 2 ** attempt * Math.random()));
    }
  }
  let stopping = false;
  const stop = (code: number) => {
    for (const signal of signals) process.off(signal, onSignal);
    if (stopping) return;
    stopping = true;
    void worker.stop().then(
      () => exit(code),
      () => exit(1),
    );
  };
  const onSignal = () => stop(0);
  const worker = new PollingWorker({
    ...options,
    app,
    store: system.store,
    dispatcher: system.dispatcher,
    client: system.client,
    ...(system.timer ? { timer: system.timer } : {}),
    onUnhealthy: (error) => {
      options.onUnhealthy?.(error);
      stop(1);
    },
  });
  for (const signal of signals) process.once(signal, onSignal);
  return worker.start();
}
