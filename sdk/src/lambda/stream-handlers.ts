/**
 * Lambda handlers on the table's DynamoDB stream (at most two event source mappings
 * read one stream: more than two readers per shard are throttled).
 *
 * - `createStreamDispatchLambdaHandler`: the reliable path of wake-ups (sends the lane
 *   message, or schedules the timer, of every run a write left Pending and due) and, when
 *   `JOBS_WS_CALLBACK_URL` is set, the WebSocket fanout. No batching window: latency.
 * - `createProjectionsLambdaHandler`: aggregates (run counts per job, queue and status),
 *   with a long batching window so their writes are shared by many runs.
 *
 * Both report partial batch failures, and their mappings retry a failed batch until it
 * succeeds (never skipped): a wake-up must not be lost.
 */
export function createStreamDispatchLambdaHandler(_env: NodeJS.ProcessEnv = process.env) {
  throw new Error("not built yet");
}

export function createProjectionsLambdaHandler(_env: NodeJS.ProcessEnv = process.env) {
  throw new Error("not built yet");
}
