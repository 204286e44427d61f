/**
 * The options of `npm start` (local/main.ts): parsed from the arguments with
 * `node:util`'s `parseArgs`, checked, and turned into {@link LocalStackOptions}. Every
 * mistake is a {@link UsageError} whose one-line message says the fix.
 */
import { parseArgs } from "node:util";
import type { LocalStackOptions } from "./stack.js";

/** A bad command line: `main.ts` prints the message (and the usage, if `showUsage`) and exits 2. */
export class UsageError extends Error {
  override name = "UsageError" as const;
  readonly showUsage: boolean;
  constructor(message: string, { showUsage = true }: { showUsage?: boolean } = {}) {
    super(message);
    this.showUsage = showUsage;
  }
}

export const usage = `usage: npm start -- [options]
  --persist                keep DynamoDB data, stream positions and ports in .data/dynamodb
  --data-dir DIR           keep them in DIR (one stack at a time per folder)
  --workers N              polling workers (default 2)
  --dynamodb-port P        DynamoDB Local's port (default: the saved one, else a free one; 0: a free one)
  --sqs-port P             fauxqs' port (same defaults)
  --ws-port P              the WebSocket server's port (same defaults)
  --dynamodb-endpoint URL  use the DynamoDB already running at URL (LocalStack, your own DynamoDB Local)
  --sqs-endpoint URL       use the SQS already running at URL (LocalStack)
  --table-name NAME        the table (default jobs)
  --queue-prefix PREFIX    prefix of the lane queues (default jobs-)
  -h, --help               this text
environment: JOBS_WS_TOKEN=secret sets the WebSocket token (default: a random one)`;

const options = {
  persist: { type: "boolean" },
  "data-dir": { type: "string" },
  workers: { type: "string" },
  "dynamodb-port": { type: "string" },
  "sqs-port": { type: "string" },
  "ws-port": { type: "string" },
  "dynamodb-endpoint": { type: "string" },
  "sqs-endpoint": { type: "string" },
  "table-name": { type: "string" },
  "queue-prefix": { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

/** The option each service's port is set with, for messages about a taken port. */
export const portOptionOf: Readonly<Record<string, string>> = {
  "DynamoDB Local": "--dynamodb-port",
  "SQS (fauxqs)": "--sqs-port",
  "WebSocket server": "--ws-port",
};

/** What `npm start` was asked for. */
export type CliRequest =
  | { readonly help: true }
  | { readonly help: false; readonly stack: Omit<LocalStackOptions, "app">; readonly dataDir?: string };

/**
 * Options given to npm itself (`npm start --persist`, without `--`): npm does not pass
 * them to the script but sets `npm_config_persist=true`. Refused with the command that works.
 */
function refuseNpmConfig(env: NodeJS.ProcessEnv): void {
  const taken = Object.entries(options)
    .filter(([name]) => name !== "help")
    .flatMap(([name, option]) => {
      const value = env[`npm_config_${name.replaceAll("-", "_")}`];
      if (value === undefined) return [];
      if (option.type === "boolean") return [`--${name}`];
      return [`--${name} ${value === "true" ? name.split("-").at(-1)?.toUpperCase() : value}`];
    });
  if (taken.length > 0) {
    throw new UsageError(
      `npm took ${taken.map((t) => t.split(" ")[0]).join(", ")} as its own setting (nothing reached the stack): put the options after --, as in: npm start -- ${taken.join(" ")}`,
      { showUsage: false },
    );
  }
}

function port(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65_535)
    throw new UsageError(`--${flag}: "${value}" is not a port (0 to 65535)`);
  return n;
}

function endpoint(value: string | undefined, flag: string): string | undefined {
  if (value === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`--${flag}: "${value}" is not a URL; use e.g. http://127.0.0.1:4566`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new UsageError(`--${flag}: "${value}" is not an http(s) URL`);
  }
  return value.replace(/\/+$/, "");
}

/**
 * Parses `npm start`'s arguments. Throws {@link UsageError} for an unknown option, a
 * missing or bad value, options npm took as its own, and options that contradict each other.
 */
export function parseCliOptions(args: readonly string[], env: NodeJS.ProcessEnv): CliRequest {
  let values: ReturnType<typeof parseArgs<{ options: typeof options; args: string[] }>>["values"];
  try {
    ({ values } = parseArgs({ args: [...args], options, strict: true, allowPositionals: false }));
  } catch (error) {
    // ERR_PARSE_ARGS_UNKNOWN_OPTION and friends: their message is the one line to show.
    throw new UsageError((error as Error).message.split("\n")[0] ?? String(error));
  }
  if (values.help) return { help: true };
  refuseNpmConfig(env);

  if (values.persist && values["data-dir"] !== undefined) {
    throw new UsageError("--persist and --data-dir both choose the data folder: give one");
  }
  if (values.workers !== undefined && !/^\d+$/.test(values.workers)) {
    throw new UsageError(`--workers: "${values.workers}" is not a whole number`);
  }
  const workers = values.workers === undefined ? undefined : Number(values.workers);
  const dynamoDbEndpoint = endpoint(values["dynamodb-endpoint"], "dynamodb-endpoint");
  const sqsEndpoint = endpoint(values["sqs-endpoint"], "sqs-endpoint");
  const dynamoDbPort = port(values["dynamodb-port"], "dynamodb-port");
  const sqsPort = port(values["sqs-port"], "sqs-port");
  if (dynamoDbEndpoint && dynamoDbPort !== undefined) {
    throw new UsageError(
      "--dynamodb-port is for the DynamoDB Local this starts; with --dynamodb-endpoint none is started",
    );
  }
  if (sqsEndpoint && sqsPort !== undefined) {
    throw new UsageError("--sqs-port is for the fauxqs this starts; with --sqs-endpoint none is started");
  }
  const dataDir = values["data-dir"] ?? (values.persist ? ".data/dynamodb" : undefined);
  const webSocketPort = port(values["ws-port"], "ws-port");
  const stack: Omit<LocalStackOptions, "app"> = {
    ...(workers !== undefined ? { workers } : {}),
    ...(dataDir !== undefined ? { dataDir } : {}),
    ...(dynamoDbEndpoint !== undefined ? { dynamoDbEndpoint } : {}),
    ...(sqsEndpoint !== undefined ? { sqsEndpoint } : {}),
    ...(dynamoDbPort !== undefined ? { dynamoDbPort } : {}),
    ...(sqsPort !== undefined ? { sqsPort } : {}),
    ...(webSocketPort !== undefined ? { webSocketPort } : {}),
    ...(values["table-name"] !== undefined ? { tableName: values["table-name"] } : {}),
    ...(values["queue-prefix"] !== undefined ? { queuePrefix: values["queue-prefix"] } : {}),
    ...(env.JOBS_WS_TOKEN ? { webSocketToken: env.JOBS_WS_TOKEN } : {}),
  };
  return { help: false, stack, ...(dataDir !== undefined ? { dataDir } : {}) };
}
