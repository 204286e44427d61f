/**
 * Wiring: one call that builds the store, the lane dispatcher and the client from AWS
 * SDK clients and resource names. Build the SDK clients once (module scope in a Lambda)
 * and pass them in.
 */
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { SQSClient } from "@aws-sdk/client-sqs";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { JobClient, type JobClientOptions } from "./client/job-client.js";
import { ValidationError } from "./errors.js";
import type { JobApp } from "./jobs/job-app.js";
import { jobRecordOf } from "./jobs/job-definition.js";
import { putQueueDefinition } from "./limits/queue-states.js";
import { Dispatcher, type Lane } from "./queue/dispatcher.js";
import { defaultLanes, type LaneDefinition } from "./queue/lane-definitions.js";
import { RunStore } from "./store/run-store.js";
import type { RunTimer } from "./timer/timer-port.js";

/** What a timer is built from, when {@link ConnectOptions.timer} is a factory. */
export interface TimerParts {
  readonly store: RunStore;
  readonly dispatcher: Dispatcher;
}

/** What a process needs to reach a deployed (or local) job system. */
export interface ConnectOptions {
  readonly dynamodb: DynamoDBClient;
  readonly sqs: SQSClient;
  readonly tableName: string;
  /** Queue URL of each lane, by lane name (`high`, `normal`, `low` by default). */
  readonly laneUrls: Readonly<Record<string, string>>;
  /** Queue URL of each lane's dead-letter queue, by lane name: what the maintenance pass drains. @default none */
  readonly deadLetterUrls?: Readonly<Record<string, string>>;
  /** Lane bands. @default defaultLanes */
  readonly lanes?: readonly LaneDefinition[];
  /** Jobs registered in this process (required to run workers here). */
  readonly app?: JobApp;
  /** Further client settings. */
  readonly client?: Omit<JobClientOptions, "store" | "dispatcher" | "app" | "timer">;
  /**
   * The timer that releases runs due far ahead and expires runs at `notAfter`: a
   * `SchedulerTimer` on AWS (`connectFromEnvironment` builds it from the construct's
   * variables), a `LocalRunTimer` locally, or a factory given the store and lanes.
   * Used by the client, and by workers, stream consumers and maintenance built from this system.
   * @default none: runs due beyond the 12-hour visibility hold are released by the maintenance pass, deadlines are enforced at claim time
   */
  readonly timer?: RunTimer | ((parts: TimerParts) => RunTimer);
}

/** A connected system: the pieces workers and clients share. */
export interface JobSystem {
  readonly store: RunStore;
  readonly dispatcher: Dispatcher;
  readonly client: JobClient;
  readonly app: JobApp | undefined;
  /** The timer, when one was configured. */
  readonly timer: RunTimer | undefined;
}

/**
 * Connects to a job system.
 *
 * @throws {@link ValidationError} a lane without a URL in `laneUrls`.
 * @example
 * ```ts
 * const { client } = connect({ dynamodb: new DynamoDBClient({}), sqs: new SQSClient({}),
 *   tableName: "jobs", laneUrls: { high: "https://…/high.fifo", normal: "…", low: "…" } });
 * ```
 */
export function connect(options: ConnectOptions): JobSystem {
  const doc = DynamoDBDocumentClient.from(options.dynamodb, {
    marshallOptions: { removeUndefinedValues: true },
  });
  const store = new RunStore({ doc, tableName: options.tableName });
  const lanes: Lane[] = (options.lanes ?? defaultLanes).map((lane) => {
    const queueUrl = options.laneUrls[lane.name];
    if (!queueUrl) throw new ValidationError(`laneUrls.${lane.name}`, "is missing");
    const deadLetterQueueUrl = options.deadLetterUrls?.[lane.name];
    return { ...lane, queueUrl, ...(deadLetterQueueUrl ? { deadLetterQueueUrl } : {}) };
  });
  const dispatcher = new Dispatcher(options.sqs, lanes);
  const timer = typeof options.timer === "function" ? options.timer({ store, dispatcher }) : options.timer;
  const client = new JobClient({
    ...options.client,
    store,
    dispatcher,
    ...(options.app ? { app: options.app } : {}),
    ...(timer ? { timer } : {}),
  });
  return { store, dispatcher, client, app: options.app, timer };
}

/**
 * Checks the app's definitions (`JobApp.validate`), then writes a job record for every
 * job of `app`, so clients elsewhere can check job names, and a queue record for every
 * queue (its definition; its pause state is left as it is).
 * @throws {@link ValidationError} a queue or rate limit named but not defined (nothing is written).
 */
export async function registerJobs(system: Pick<JobSystem, "store">, app: JobApp): Promise<void> {
  app.validate();
  await Promise.all([
    ...app.jobs().map((job) => system.store.putJob(jobRecordOf(job, app.getQueue(job.queue)?.priority))),
    ...app.queues().map((queue) => putQueueDefinition(system.store, queue)),
  ]);
}
