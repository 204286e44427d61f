/** Workers (`sluice-jobs/worker`): the polling worker for containers and servers, and the core every worker runs. */

export {
  type MaintenanceOptions,
  type MaintenanceReport,
  runMaintenance,
} from "../maintenance/maintenance.js";
export { type ContainerWorkerOptions, runContainerWorker } from "./container-worker.js";
export { PollingWorker, type PollingWorkerOptions } from "./polling-worker.js";
export {
  type MessageDisposition,
  type ProcessOptions,
  WorkerCore,
  type WorkerCoreOptions,
} from "./worker-core.js";
