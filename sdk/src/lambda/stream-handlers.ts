/**
 * Lambda handlers on the table's DynamoDB stream (at most two event source mappings
 * read one stream: more than two readers per shard are throttled).
 *
 * - `createStreamDispatchLambdaHandler`: the reliable path of wake-ups (sends the lane
 *   message, or makes the timer, of every run a write left Pending and due; see
 *   `dispatch/wake-ups.ts`), the waiters woken by freed concurrency slots
 *   (`limits/slot-release-wake-ups.ts`), when `JOBS_WS_CALLBACK_URL` is set the WebSocket fanout, and
 *   the cascade cancel of the children of runs whose attempt ended without success
 *   (`runs/cascade-cancel.ts`), and batches (children's creation and cancel, counts and
 *   events; `batches/batch-stream.ts`). No batching window: latency.
 * - `createProjectionsLambdaHandler`: run counts per job and queue
 *   (`projections/run-counts.ts`), with a long batching window so their writes are
 *   shared by many runs.
 *
 * A failing batch throws: the mappings retry it until it succeeds (never skipped), and
 * everything both handlers do is safe to repeat.
 */
import { createBatchStreamHandler } from "../batches/batch-stream.js";
import { connectFromEnvironment, environmentVariables } from "../config/environment.js";
import { createWakeUpHandler, type StreamRecords } from "../dispatch/wake-ups.js";
import { createSlotReleaseHandler } from "../limits/slot-release-wake-ups.js";
import { createRunCountsHandler } from "../projections/run-counts.js";
import { managementApiPoster } from "../realtime/connection-poster.js";
import { createFanoutHandler } from "../realtime/fanout.js";
import { createCascadeCancelHandler } from "../runs/cascade-cancel.js";

/** The dispatch consumer: wake-ups, then (with the WebSocket API) the fanout, then the cascade cancel, then batches. */
export function createStreamDispatchLambdaHandler(env: NodeJS.ProcessEnv = process.env) {
  const system = connectFromEnvironment({}, env);
  const wakeUps = createWakeUpHandler({
    dispatcher: system.dispatcher,
    ...(system.timer ? { timer: system.timer } : {}),
  });
  const slotReleases = createSlotReleaseHandler({ store: system.store, dispatcher: system.dispatcher });
  const callbackUrl = env[environmentVariables.webSocketCallbackUrl];
  const fanout = callbackUrl
    ? createFanoutHandler({ store: system.store, poster: managementApiPoster(callbackUrl) })
    : undefined;
  const cascade = createCascadeCancelHandler({
    store: system.store,
    ...(system.timer ? { timer: system.timer } : {}),
  });
  const batches = createBatchStreamHandler({
    store: system.store,
    ...(system.timer ? { timer: system.timer } : {}),
  });
  return async (event: StreamRecords) => {
    await wakeUps(event);
    await slotReleases(event);
    await fanout?.(event);
    await cascade(event);
    await batches(event);
  };
}

/** The projections consumer: run counts. */
export function createProjectionsLambdaHandler(env: NodeJS.ProcessEnv = process.env) {
  const system = connectFromEnvironment({}, env);
  const counts = createRunCountsHandler(system.store);
  return async (event: StreamRecords) => {
    await counts(event);
  };
}
