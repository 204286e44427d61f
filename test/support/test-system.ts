/**
 * A whole job system for one test: its own table and lanes on the shared emulators,
 * polling workers, the local timer (run timers and maintenance passes) and the stream
 * consumers (wake-ups, run counts). Stop it in `afterEach`/`finally`.
 */
import { type LocalTimer, startLocalTimer } from "../../local/local-timer.js";
import { type LocalRealtime, startLocalRealtime } from "../../local/realtime.js";
import { type StreamConsumers, startStreamConsumers } from "../../local/stream-consumers.js";
import { connect, type JobSystem, registerJobs, type TimerParts } from "../../sdk/src/connect.js";
import type { JobApp } from "../../sdk/src/jobs/job-app.js";
import { LocalRunTimer } from "../../sdk/src/timer/local-timer.js";
import type { RunTimer } from "../../sdk/src/timer/timer-port.js";
import { PollingWorker, type PollingWorkerOptions } from "../../sdk/src/worker/polling-worker.js";
import { createTestResources, type TestResources } from "./local-resources.js";

export interface TestSystemOptions {
  readonly app: JobApp;
  /** The table and lanes to use (to inject faults into their clients first). @default new ones */
  readonly resources?: TestResources;
  /** @default 1 */
  readonly workers?: number;
  /** Start the local timer loop (run timers and sweep). @default true */
  readonly timer?: boolean;
  /** Clock of the client, workers and run timer, epoch ms. @default Date.now */
  readonly now?: () => number;
  /** Builds the run timer. @default a LocalRunTimer on the test's clock */
  readonly makeTimer?: (parts: TimerParts & { readonly now: () => number }) => RunTimer;
  readonly worker?: Partial<PollingWorkerOptions>;
  /** Start the stream consumers (the reliable path of wake-ups, run counts). @default true */
  readonly streams?: boolean;
  /** How often the run counts consumer reads the stream, in ms. @default 500 */
  readonly projectionsIntervalMs?: number;
  /** Start the local WebSocket server, fed by the stream dispatch consumer's fanout. @default false */
  readonly realtime?: boolean;
}

export interface TestSystem extends JobSystem {
  readonly resources: TestResources;
  /** The run timer (the port), as built by `makeTimer`. */
  readonly timer: RunTimer;
  /** The same timer when it is the local one (fired by the timer loop, or by hand with `fireDue()`). */
  readonly runTimer: LocalRunTimer | undefined;
  /** The clock everything in this system reads. */
  readonly now: () => number;
  readonly workers: PollingWorker[];
  /** The local WebSocket API, with `realtime: true`. */
  readonly realtime: LocalRealtime | undefined;
  /** Whether the stream dispatch consumer runs the fanout: turn it off to lose every push from then on, as a skipped batch would. */
  readonly fanout: { enabled: boolean };
  /** Starts one more polling worker. */
  addWorker(options?: Partial<PollingWorkerOptions>): PollingWorker;
  stop(): Promise<void>;
}

export async function startTestSystem(options: TestSystemOptions): Promise<TestSystem> {
  const resources = options.resources ?? (await createTestResources());
  const now = options.now ?? Date.now;
  const makeTimer = options.makeTimer ?? ((parts) => new LocalRunTimer(parts));
  const system = connect({
    ...resources,
    app: options.app,
    client: { maxPollIntervalMs: 100, now },
    timer: (parts) => makeTimer({ ...parts, now }),
  });
  if (!system.timer) throw new Error("connect() did not build the timer");
  const timerInstance: RunTimer = system.timer;
  const runTimer = timerInstance instanceof LocalRunTimer ? timerInstance : undefined;
  await registerJobs(system, options.app);
  const workers: PollingWorker[] = [];
  const addWorker = (extra: Partial<PollingWorkerOptions> = {}) => {
    const worker = new PollingWorker({
      app: options.app,
      store: system.store,
      dispatcher: system.dispatcher,
      client: system.client,
      timer: timerInstance,
      now,
      leaseMs: 3_000,
      heartbeatMs: 500,
      flushMs: 200,
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
          ...(runTimer ? { timer: runTimer } : {}),
          now,
          leaseMs: options.worker?.leaseMs ?? 3_000,
          intervalMs: 100,
        });
  const realtime = options.realtime ? await startLocalRealtime({ store: system.store }) : undefined;
  const fanout = { enabled: true };
  const consumers: StreamConsumers | undefined =
    options.streams === false
      ? undefined
      : await startStreamConsumers({
          dynamodb: resources.dynamodb,
          dynamoDbEndpoint: resources.dynamoDbEndpoint,
          store: system.store,
          dispatcher: system.dispatcher,
          timer: timerInstance,
          projectionsIntervalMs: options.projectionsIntervalMs ?? 500,
          ...(realtime
            ? { fanout: async (records) => (fanout.enabled ? realtime.fanout(records) : undefined) }
            : {}),
        });
  return {
    ...system,
    resources,
    timer: timerInstance,
    runTimer,
    now,
    workers,
    realtime,
    fanout,
    addWorker,
    async stop() {
      await Promise.all(workers.map((w) => w.stop()));
      await timer?.stop();
      await consumers?.stop();
      await realtime?.stop();
    },
  };
}
