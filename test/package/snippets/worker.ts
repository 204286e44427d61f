import { connectFromEnvironment, registerJobs } from "sluice-jobs";
import { PollingWorker } from "sluice-jobs/worker";
import { app } from "./jobs.js";

const system = connectFromEnvironment({ app });
await registerJobs(system, app);
const worker = new PollingWorker({
  app,
  store: system.store,
  dispatcher: system.dispatcher,
  client: system.client,
  ...(system.timer ? { timer: system.timer } : {}),
  concurrency: 8,
  waitTimeSeconds: 20, // long poll of each receive while the lanes are empty (the default)
}).start();

process.once("SIGTERM", () => {
  void worker.stop().then(() => process.exit(0)); // lets running jobs finish, or hands their runs back
});
