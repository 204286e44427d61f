/**
 * `npm start`: the whole system on one machine, no AWS account, no Docker.
 *
 *   npm start                      in-memory; everything is gone on exit
 *   npm start -- --persist         keep DynamoDB data in .data/ across restarts
 *   npm start -- --data-dir DIR    keep it in DIR
 *   npm start -- --workers 4 --dynamodb-port 8000 --sqs-port 4566 --ws-port 3001
 *   JOBS_WS_TOKEN=secret npm start   fixed WebSocket token (random otherwise)
 *
 * Runs until Ctrl-C (SIGINT) or SIGTERM, then stops workers (5 s grace), the timer and
 * both emulators, and exits once the Java child has exited.
 */
import { parseArgs } from "node:util";
import { app } from "../examples/jobs.js";
import { startLocalStack } from "./stack.js";

const { values } = parseArgs({
  options: {
    persist: { type: "boolean", default: false },
    "data-dir": { type: "string" },
    workers: { type: "string", default: "2" },
    "dynamodb-port": { type: "string" },
    "sqs-port": { type: "string" },
    "ws-port": { type: "string" },
    help: { type: "boolean", short: "h", default: false },
  },
});

if (values.help) {
  console.log(
    "usage: npm start -- [--persist | --data-dir DIR] [--workers N] [--dynamodb-port P] [--sqs-port P] [--ws-port P]",
  );
  process.exit(0);
}

const port = (value: string | undefined, name: string) => {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new Error(`--${name}: ${value} is not a port number`);
  return n;
};
const workers = Number(values.workers);
if (!Number.isInteger(workers) || workers < 0)
  throw new Error(`--workers: ${values.workers} is not a whole number`);
const dataDir = values["data-dir"] ?? (values.persist ? ".data/dynamodb" : undefined);
const dynamoDbPort = port(values["dynamodb-port"], "dynamodb-port");
const sqsPort = port(values["sqs-port"], "sqs-port");
const webSocketPort = port(values["ws-port"], "ws-port");

const stack = await startLocalStack({
  app,
  workers,
  ...(dataDir !== undefined ? { dataDir } : {}),
  ...(dynamoDbPort !== undefined ? { dynamoDbPort } : {}),
  ...(sqsPort !== undefined ? { sqsPort } : {}),
  ...(webSocketPort !== undefined ? { webSocketPort } : {}),
  ...(process.env.JOBS_WS_TOKEN ? { webSocketToken: process.env.JOBS_WS_TOKEN } : {}),
});

console.log(`local job system is up
  DynamoDB Local   ${stack.dynamoDbEndpoint}  table "${stack.tableName}"${dataDir ? ` (data in ${dataDir})` : " (in memory)"}
  SQS (fauxqs)     ${stack.sqsEndpoint}
${Object.entries(stack.laneUrls)
  .map(([lane, url]) => `    lane ${lane.padEnd(7)} ${url}`)
  .join("\n")}
  workers          ${stack.workers.length} polling (${stack.workers.map((w) => w.workerId).join(", ")})
  WebSocket API    ${stack.webSocket.url}  token ${stack.webSocket.token} (send it as Authorization: Bearer)
  timer            every 250 ms: run timers (releases, expiries) and a maintenance pass (dead letters, runs due later)
  stream consumers wake-ups and WebSocket fanout (every 100 ms), run counts (every 10 s)
  jobs             ${app
    .jobs()
    .map((j) => j.name)
    .join(", ")}

Connect another process (a script, a second terminal) with connectFromEnvironment():
  export AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local
  export AWS_ENDPOINT_URL_DYNAMODB=${stack.dynamoDbEndpoint} AWS_ENDPOINT_URL_SQS=${stack.sqsEndpoint}
  export JOBS_TABLE_NAME=${stack.tableName} JOBS_LANE_URLS='${JSON.stringify(stack.laneUrls)}'
Press Ctrl-C to stop.`);

let stopping = false;
const shutdown = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  console.log(`\n${signal}: stopping workers, timer and emulators...`);
  await stack.stop();
  console.log("stopped");
  process.exit(0);
};
process.on("SIGINT", () => void shutdown("SIGINT"));
process.on("SIGTERM", () => void shutdown("SIGTERM"));
