import { App, Stack } from "aws-cdk-lib";
import { JobSystem } from "sluice-jobs/infra";

const app = new App();
const stack = new Stack(app, "Jobs");
// The table, the lanes, the worker and maintenance functions (bundled from jobs.ts), the
// stream consumers, the Scheduler group and the WebSocket API. Give your own functions
// and containers jobs.clientEnvironment and jobs.grantClient(role) or jobs.grantWorker(role).
new JobSystem(stack, "JobSystem", { jobsEntry: "jobs.ts" });
