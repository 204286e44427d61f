/** Projections Lambda on the table's DynamoDB stream: run counts per job and queue. */
import { createProjectionsLambdaHandler } from "../sdk/src/lambda/stream-handlers.js";

export const handler = createProjectionsLambdaHandler();
