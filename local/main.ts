/**
 * `npm start`: the whole system on one machine, no AWS account, no Docker, serving the
 * example jobs (examples/jobs.ts). `npm start -- --help` lists the options (cli-options.ts).
 *
 * Runs until SIGINT (Ctrl-C) or SIGTERM, then stops workers (5 s grace), the timer and
 * both emulators, and exits once the Java child has exited. A mistake on the command
 * line prints one line and the usage and exits 2; a start that fails (a taken port, a
 * locked data folder) prints one line with the fix and exits 1.
 */
import "./quiet-sdk-notice.js";
import { app } from "../examples/jobs.js";
import { JobSystemError } from "../sdk/src/errors.js";
import { parseCliOptions, portOptionOf, UsageError, usage } from "./cli-options.js";
import { PortInUseError } from "./errors.js";
import { type LocalStack, startLocalStack } from "./stack.js";

function fail(message: string, exitCode: number): never {
  console.error(`npm start: ${message}`);
  process.exit(exitCode);
}

let request: ReturnType<typeof parseCliOptions>;
try {
  request = parseCliOptions(process.argv.slice(2), process.env);
} catch (error) {
  if (!(error instanceof UsageError)) throw error;
  console.error(`npm start: ${error.message}${error.showUsage ? `\n${usage}` : ""}`);
  process.exit(2);
}
if (request.help) {
  console.log(usage);
  process.exit(0);
}

// Handlers first: a signal during the start stops what started, then exits.
let stopRequested: string | undefined;
let shutdown = (signal: string) => {
  stopRequested ??= signal;
};
process.on("SIGINT", () => shutdown("SIGINT"));
process.on("SIGTERM", () => shutdown("SIGTERM"));

let stack: LocalStack;
try {
  stack = await startLocalStack({ app, ...request.stack });
} catch (error) {
  if (error instanceof PortInUseError) {
    const option = portOptionOf[error.service] ?? "the port option";
    fail(`${error.message}: pass ${option} with another port (0 for a free one)`, 1);
  }
  if (error instanceof JobSystemError) fail(error.message, 1);
  throw error;
}

let stopping = false;
shutdown = (signal: string) => {
  if (stopping) return;
  stopping = true;
  console.log(`\n${signal}: stopping workers, timer and emulators...`);
  void stack.stop().then(() => {
    console.log("stopped");
    process.exit(0);
  });
};
const env = stack.environment;
console.log(`local job system is up
  DynamoDB         ${stack.dynamoDbEndpoint}  table "${stack.tableName}"${request.dataDir ? ` (data in ${request.dataDir})` : request.stack.dynamoDbEndpoint ? "" : " (in memory)"}
  SQS              ${stack.sqsEndpoint}
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
${Object.entries(env)
  .map(([name, value]) => `  export ${name}='${value}'`)
  .join("\n")}
Press Ctrl-C to stop.`);
if (stopRequested) shutdown(stopRequested);
