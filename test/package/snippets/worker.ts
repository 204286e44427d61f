import { runContainerWorker } from "sluice-jobs/worker";
import { app } from "./jobs.js";

await runContainerWorker({
  app,
  concurrency: 8,
  waitTimeSeconds: 20, // long poll of each receive while the lanes are empty (the default)
});
