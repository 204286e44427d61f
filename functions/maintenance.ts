/** Maintenance Lambda (every minute): expiries, lost messages, expired leases. */
import { app } from "../examples/jobs.js";
import { createMaintenanceLambdaHandler } from "../sdk/src/lambda/handlers.js";

export const handler = createMaintenanceLambdaHandler(app);
