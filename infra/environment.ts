/**
 * Names of the environment variables the construct sets on its functions and lists in
 * `JobSystem.clientEnvironment`. The SDK's own names come from
 * `sdk/src/config/environment.ts` (`connectFromEnvironment()` reads them).
 */
import { environmentVariables } from "../sdk/src/config/environment.js";

/**
 * Environment variables the construct sets on its functions and lists in
 * `JobSystem.clientEnvironment`; `connectFromEnvironment()` reads them
 * (`sdk/src/config/environment.ts`).
 *
 * @example
 * ```ts
 * const tableName = jobs.clientEnvironment[jobSystemEnvironmentVariables.tableName];
 * ```
 */
export const jobSystemEnvironmentVariables = {
  tableName: environmentVariables.tableName,
  laneUrls: environmentVariables.laneUrls,
  scheduleGroupName: environmentVariables.scheduleGroupName,
  schedulerRoleArn: environmentVariables.schedulerRoleArn,
  schedulerExpiryTargetArn: environmentVariables.schedulerExpiryTargetArn,
  schedulerDeadLetterQueueArn: environmentVariables.schedulerDeadLetterQueueArn,
  /** Set on the construct's functions only: how long finished runs are kept, in seconds. */
  retentionSeconds: "JOBS_RETENTION_SECONDS",
  /**
   * Set on the maintenance function only: JSON, lane name → URL of the lane's dead-letter
   * queue, the queues it drains (same shape as `JOBS_LANE_URLS`).
   */
  deadLetterUrls: environmentVariables.deadLetterUrls,
  /** Set on the functions that push frames (WebSocket, stream dispatch): the stage's management endpoint. */
  webSocketCallbackUrl: environmentVariables.webSocketCallbackUrl,
  /** Set on the WebSocket function: the secret holding the token `$connect` accepts. */
  webSocketTokenSecretArn: environmentVariables.webSocketTokenSecretArn,
} as const;
