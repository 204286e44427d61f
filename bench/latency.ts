/**
 * Trigger→start and trigger→result latency of `Add` on an idle local stack, with the
 * client in a separate process (`connectFromEnvironment`, no in-process signal between
 * client and worker), one polling worker, the stream consumers and maintenance running,
 * every setting at its default. Each latency is also given as a multiple of one raw
 * conditional `UpdateItem`'s p50, measured in the same run.
 *
 *   npx tsx bench/latency.ts [runs=100]
 */
import { spawn } from "node:child_process";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { localClientConfig } from "../local/aws-clients.js";
import { JobApp } from "../sdk/src/index.js";
import { measureRawUpdateP50 } from "./ceiling-mix.js";
import { startBenchSystem } from "./support/bench-system.js";
import { percentile } from "./support/stats.js";

const runs = Number(process.argv[2] ?? 100);
const app = new JobApp();
app.addJob("Add", ({ a, b }: { a: number; b: number }) => a + b);
const system = await startBenchSystem({ app, workers: 1 });
const raw = new DynamoDBClient(localClientConfig(system.dynamoDbEndpoint));
const rawBefore = await measureRawUpdateP50({ dynamodb: raw, tableName: system.tableName, samples: 200 });

const child = spawn(process.execPath, ["--import", "tsx", "bench/support/latency-client.ts"], {
  env: {
    ...process.env,
    RUNS: String(runs),
    JOBS_TABLE_NAME: system.tableName,
    JOBS_LANE_URLS: JSON.stringify(system.laneUrls),
    AWS_ENDPOINT_URL_DYNAMODB: system.dynamoDbEndpoint,
    AWS_ENDPOINT_URL_SQS: system.sqsEndpoint,
    AWS_REGION: "us-east-1",
    AWS_ACCESS_KEY_ID: "local",
    AWS_SECRET_ACCESS_KEY: "local",
  },
  stdio: ["ignore", "pipe", "inherit"],
});
let output = "";
child.stdout.on("data", (chunk) => {
  output += String(chunk);
});
const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
if (code !== 0) throw new Error(`latency client exited with ${code}`);
const { toStart, toComplete, toResult } = JSON.parse(output.trim().split("\n").pop() ?? "{}") as {
  toStart: number[];
  toComplete: number[];
  toResult: number[];
};
const rawAfter = await measureRawUpdateP50({ dynamodb: raw, tableName: system.tableName, samples: 200 });
raw.destroy();
await system.stop();

const rawP50 = (rawBefore + rawAfter) / 2;
const row = (xs: number[]) => ({
  p50: Math.round(percentile(xs, 0.5) * 10) / 10,
  p95: Math.round(percentile(xs, 0.95) * 10) / 10,
  "p50 ÷ raw UpdateItem": Math.round((percentile(xs, 0.5) / rawP50) * 10) / 10,
});
console.log(`${runs} sequential run("Add") from a client in another process, 1 worker, default settings`);
console.log(
  `raw conditional UpdateItem p50: ${rawP50.toFixed(2)} ms (before ${rawBefore.toFixed(2)}, after ${rawAfter.toFixed(2)})`,
);
console.table({
  "trigger→start (ms)": row(toStart),
  "trigger→completed (ms)": row(toComplete),
  "trigger→result (ms)": row(toResult),
});
console.log(
  JSON.stringify({
    bench: "latency",
    runs,
    rawUpdateP50Ms: Math.round(rawP50 * 100) / 100,
    toStartP50Ms: percentile(toStart, 0.5),
    toResultP50Ms: Math.round(percentile(toResult, 0.5) * 10) / 10,
    toStartRatio: Math.round((percentile(toStart, 0.5) / rawP50) * 10) / 10,
    toResultRatio: Math.round((percentile(toResult, 0.5) / rawP50) * 10) / 10,
  }),
);
