/**
 * In-process SQS emulator (`fauxqs`) for the FIFO lanes.
 *
 * Two departures from `startFauxqs()`:
 * - it listens on 127.0.0.1 only (`startFauxqs` binds 0.0.0.0);
 * - queue URLs are `http://127.0.0.1:<port>/000000000000/<name>`, taken from the request's
 *   Host header, instead of fauxqs' default `http://sqs.<region>.localhost:<port>/...`.
 *   Those default URLs do not resolve on a stock Linux resolver, and an SDK client without
 *   an explicit `endpoint` (e.g. configured by `AWS_ENDPOINT_URL`) sends each request to
 *   its QueueUrl's host, so it fails with ENOTFOUND. With these URLs the queue URL and the
 *   endpoint are the same origin, as with real SQS.
 *
 * fauxqs looks queues up by the exact URL string, so always address it as 127.0.0.1
 * (never `localhost`) and use the URLs it returns.
 */
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { buildApp } from "fauxqs";
import { PortInUseError } from "./errors.js";
import { importOptional } from "./optional-package.js";

export interface SqsLocalOptions {
  /** Port to listen on; `0` or absent picks a free one. */
  port?: number;
}

export interface SqsLocal {
  /** `http://127.0.0.1:<port>`. */
  readonly endpoint: string;
  readonly port: number;
  /** Closes the server (and any open long polls). Idempotent. */
  stop(): Promise<void>;
}

type Stores = NonNullable<NonNullable<Parameters<typeof buildApp>[0]>["stores"]>;

/** URL of a file inside the installed fauxqs package (its `exports` map hides internals). */
function fauxqsFile(relative: string): string {
  const resolveMeta = (import.meta as { resolve?: (specifier: string) => string }).resolve;
  if (typeof resolveMeta === "function") {
    try {
      return new URL(relative, resolveMeta("fauxqs")).href; // entry is dist/app.js
    } catch {
      // fall through to a node_modules walk
    }
  }
  const require = createRequire(import.meta.url);
  for (const dir of require.resolve.paths("fauxqs") ?? []) {
    const file = join(dir, "fauxqs", "dist", relative);
    if (existsSync(file)) return pathToFileURL(file).href;
  }
  throw new Error(`fauxqs internal module not found: ${relative}`);
}

async function createStores(): Promise<Stores> {
  const [sqs, sns, s3] = await Promise.all([
    import(fauxqsFile("./sqs/sqsStore.js")),
    import(fauxqsFile("./sns/snsStore.js")),
    import(fauxqsFile("./s3/s3Store.js")),
  ]);
  const sqsStore = new sqs.SqsStore();
  // Empty host: queue URLs are built from the request's Host header (127.0.0.1:<port>).
  sqsStore.host = "";
  return { sqsStore, snsStore: new sns.SnsStore(), s3Store: new s3.S3Store() };
}

const neededFor = "The SQS emulator (the local stack without sqsEndpoint)";

/**
 * Starts fauxqs on 127.0.0.1. Throws {@link PortInUseError} when `port` is taken, and
 * `MissingPackageError` when `fauxqs` is not installed.
 */
export async function startSqsLocal(options: SqsLocalOptions = {}): Promise<SqsLocal> {
  const fauxqs = await importOptional<{ buildApp: typeof buildApp }>("fauxqs", neededFor);
  const app = fauxqs.buildApp({ logger: false, defaultRegion: "us-east-1", stores: await createStores() });
  try {
    await app.listen({ port: options.port ?? 0, host: "127.0.0.1" });
  } catch (error) {
    await app.close();
    if ((error as NodeJS.ErrnoException).code === "EADDRINUSE") {
      throw new PortInUseError(options.port ?? 0, "SQS (fauxqs)", { cause: error });
    }
    throw error;
  }
  const address = app.server.address();
  if (!address || typeof address !== "object") {
    await app.close();
    throw new Error("fauxqs: could not read the listening port");
  }
  const port = address.port;
  let stopping: Promise<void> | undefined;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    stop() {
      stopping ??= app.close().then(() => undefined);
      return stopping;
    },
  };
}
