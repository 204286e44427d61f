/** Workers (`sluice-jobs/worker`): the polling worker for containers and servers, and the core every worker runs. */

export { type SweepOptions, type SweepReport, sweep } from "../maintenance/sweep.js";
export { PollingWorker, type PollingWorkerOptions } from "./polling-worker.js";
export {
  type MessageDisposition,
  type ProcessOptions,
  WorkerCore,
  type WorkerCoreOptions,
} from "./worker-core.js";
