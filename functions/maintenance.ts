/** Maintenance Lambda (every minute): the lanes' dead letters, runs due later with no timer; also runs' expiry schedules' target. */
import { app } from "../examples/jobs.js";
import { createMaintenanceLambdaHandler } from "../sdk/src/lambda/handlers.js";

export const handler = createMaintenanceLambdaHandler(app);
