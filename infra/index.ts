/** The CDK construct of the job system. Each export is named. */
export {
  type JobLane,
  JobSystem,
  type JobSystemProps,
  jobSystemEnvironmentVariables,
  laneMaxReceiveCount,
  webSocketRouteKeys,
  webSocketStageName,
} from "./job-system.js";
