/**
 * The job system's public API: define jobs, connect a client, trigger and observe runs.
 * Each export is named; internals stay internal.
 */

export type { BatchEvent } from "./batches/batch-events.js";
export type {
  BatchCallOptions,
  BatchHandle,
  BatchOptions,
  BatchStatus,
  JobBatch,
} from "./client/batch-calls.js";
export type { BatchItem } from "./client/batch-inputs.js";
export {
  JobClient,
  type JobClientOptions,
  type JobRef,
  type RunCallOptions,
  type TriggerTail,
} from "./client/job-client.js";
export type { RunFilter } from "./client/run-filter.js";
export { connectFromEnvironment, environmentVariables, readEnvironment } from "./config/environment.js";
export { type ConnectOptions, connect, type JobSystem, registerJobs, type TimerParts } from "./connect.js";
export type { Duration, DurationUnit } from "./domain/duration.js";
export { maxJsonDepth, maxPayloadBytes } from "./domain/json.js";
export type { ResolvedRetryPolicy, RetryPolicy } from "./domain/retry-policy.js";
export type { JobRun, JsonValue, RunError, RunStatus, WaitingFor } from "./domain/run.js";
export { isTerminal, runStatuses } from "./domain/run.js";
export {
  isTerminalEvent,
  type LogLevel,
  type LogLine,
  type RunEvent,
  type RunEventBody,
  type RunEventType,
} from "./domain/run-event.js";
export {
  maxDeduplicationIdLength,
  maxScheduleAheadMs,
  type RunOptions,
  type SignalOptions,
} from "./domain/run-options.js";
export {
  BatchNotFoundError,
  ConcurrencyKeyError,
  DeadLetterError,
  HandBackLimitError,
  HandlerIgnoredAbortError,
  JobNotFoundError,
  JobRunError,
  JobSystemError,
  JobTimeoutError,
  LeaseLostError,
  NonRetriableError,
  QueueNotFoundError,
  RunCanceledError,
  RunConflictError,
  RunHasNoResultError,
  RunNotFoundError,
  RunWriteError,
  ValidationError,
  WorkerStoppingError,
  WorkerUnhealthyError,
} from "./errors.js";
export { type AddJobOptions, JobApp } from "./jobs/job-app.js";
export type { JobContext, JobHandler, JobLogger } from "./jobs/job-context.js";
export {
  type ConcurrencyKeyLimit,
  defaultQueueName,
  type JobArgs,
  JobDefinition,
  type JobResult,
} from "./jobs/job-definition.js";
export { maxConcurrencyLimit, maxRateLimit } from "./jobs/limit-options.js";
export type { QueueDefinition, QueueOptions } from "./jobs/queue-definition.js";
export type { RateLimitDefinition, RateLimitKind, RateLimitOptions } from "./jobs/rate-limit-definition.js";
export type { LimitInfo } from "./limits/limit-info.js";
export type { QueueInfo } from "./limits/queue-calls.js";
export { CapacityRecorder } from "./metrics/capacity-recorder.js";
export { RequestCounter } from "./metrics/request-counter.js";
export type { RunCounts } from "./projections/run-counts.js";
export { defaultLanes, type LaneDefinition } from "./queue/lane-definitions.js";
export { defaultSafetyReadMs, type WebSocketOptions } from "./realtime/socket-observer.js";
export { SubscriptionError } from "./realtime/subscription-error.js";
export {
  createSubscriptionToken,
  defaultSubscriptionTokenTtlMs,
  maxSubscriptionTokenTtlMs,
  type SubscriptionTokenOptions,
} from "./realtime/tokens.js";
export type { CancelOutcome } from "./runs/lifecycle.js";
export type { BatchCounts } from "./store/batch-record.js";
export { maxBatchItems } from "./store/batch-record.js";
export { InputStalledError, InputStreamError } from "./streams/input-stream.js";
export { LocalRunTimer, type LocalRunTimerOptions, type LocalTimerEntry } from "./timer/local-timer.js";
export {
  defaultSchedulerReleaseThresholdMs,
  SchedulerTimer,
  type SchedulerTimerOptions,
} from "./timer/scheduler-timer.js";
export type { ExpiryEvent } from "./timer/timer-actions.js";
export type { RunTimer, TimerPurpose, TimerRun } from "./timer/timer-port.js";
