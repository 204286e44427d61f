/**
 * A whole job system for one test: its own table and lanes on the shared emulators,
 * polling workers and the local timer. Stop it in `afterEach`/`finally`.
 */
import { startLocalTimer, type LocalTimer } from "../../local/local-timer.js";
import { connect, registerJobs, type JobSystem } from "../../sdk/src/connect.js";
import type { JobApp } from "../../sdk/src/jobs/job-app.js";
import { PollingWorker, type PollingWorkerOptions } from "../../sdk/src/worker/polling-worker.js";
import { createTestResources, type TestResources } from "./local-resources.js";

export interface TestSystemOptions {
  readonly app: JobApp;
  /** @default 1 */
  readonly workers?: number;
  /** Start the local timer (sweep). @default true */
  readonly timer?: boolean;
  readonly worker?: Partial<PollingWorkerOptions>;
  readonly lostMessageGraceMs?: number;
}

export interface TestSystem extends JobSystem {
  readonly resources: TestResources;
  readonly workers: PollingWorker[];
  /** Starts one more polling worker. */
  addWorker(options?: Partial<PollingWorkerOptions>): PollingWorker;
  stop(): Promise<void>;
}

export async function startTestSystem(options: TestSystemOptions): Promise<TestSystem> {
  const resources = await createTestResources();
  const system = connect({ ...resources, app: options.app, client: { maxPollIntervalMs: 100 } });
  await registerJobs(system, options.app);
  const workers: PollingWorker[] = [];
  const addWorker = (extra: Partial<PollingWorkerOptions> = {}) => {
    const worker = new PollingWorker({
      app: options.app,
      store: system.store,
      dispatcher: system.dispatcher,
      client: system.client,
      leaseMs: 3_000,
      heartbeatMs: 500,
      flushMs: 200,
      maxIdleMs: 50,
      shutdownGraceMs: 1_000,
      ...options.worker,
      ...extra,
    }).start();
    workers.push(worker);
    return worker;
  };
  for (let i = 0; i < (options.workers ?? 1); i++) addWorker();
  const timer: LocalTimer | undefined =
    options.timer === false
      ? undefined
      : startLocalTimer({
          store: system.store,
          dispatcher: system.dispatcher,
          app: options.app,
          intervalMs: 100,
          lostMessageGraceMs: options.lostMessageGraceMs ?? 1_000,
        });
  return {
    ...system,
    resources,
    workers,
    addWorker,
    async stop() {
      await Promise.all(workers.map((w) => w.stop()));
      await timer?.stop();
    },
  };
}
