/** The CDK construct of the job system. Each export is named. */
export { jobSystemEnvironmentVariables } from "./environment.js";
export { JobSystem } from "./job-system.js";
export type { JobSystemProps } from "./job-system-props.js";
export { type JobLane, laneMaxReceiveCount } from "./lanes.js";
export { webSocketRouteKeys, webSocketStageName } from "./realtime-api.js";
