import { connectFromEnvironment } from "sluice-jobs";

const { client } = connectFromEnvironment(); // JOBS_TABLE_NAME, JOBS_LANE_URLS and the AWS variables
const run = await client.trigger("Resize", { width: 800 });
const done = await client.wait(run.runId);
console.log(done.status, JSON.stringify(done.result));
