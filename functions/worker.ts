/** Worker Lambda: lane messages in, runs executed. The jobs come from the app's jobs module. */
import { app } from "../examples/jobs.js";
import { createWorkerLambdaHandler } from "../sdk/src/lambda/handlers.js";

export const handler = createWorkerLambdaHandler(app);
