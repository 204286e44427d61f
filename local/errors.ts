/**
 * Errors of the local stack. Each is a `JobSystemError` whose message says what to do,
 * in one line, and carries the values a caller needs to act on it.
 */
import { JobSystemError } from "../sdk/src/errors.js";

/** A package the local stack loads only when needed (an optional peer dependency) is not installed. */
export class MissingPackageError extends JobSystemError {
  override name = "MissingPackageError" as const;
  /** The npm package to install, e.g. `fauxqs`. */
  readonly packageName: string;
  constructor(packageName: string, neededFor: string, options?: ErrorOptions) {
    super(
      `${neededFor} needs the npm package "${packageName}", which is not installed: npm install --save-dev ${packageName}`,
      options,
    );
    this.packageName = packageName;
  }
}

/** A port the local stack was told to use (or used last time) is taken on 127.0.0.1. */
export class PortInUseError extends JobSystemError {
  override name = "PortInUseError" as const;
  readonly port: number;
  /** What was to listen there: `"DynamoDB Local"`, `"SQS (fauxqs)"` or `"WebSocket server"`. */
  readonly service: string;
  constructor(port: number, service: string, options?: ErrorOptions) {
    super(`port ${port} is already in use on 127.0.0.1 (wanted for ${service})`, options);
    this.port = port;
    this.service = service;
  }
}

/** Another live process holds the data folder: two stacks on one folder would lose runs. */
export class DataDirLockedError extends JobSystemError {
  override name = "DataDirLockedError" as const;
  /** The data folder, absolute. */
  readonly dataDir: string;
  /** Process id of the holder (on `host`). */
  readonly holderPid: number;
  readonly host: string;
  constructor(dataDir: string, holderPid: number, host: string, detail: string) {
    super(
      `data folder ${dataDir} is in use by process ${holderPid} on ${host} (${detail}): stop it first, or use another folder`,
    );
    this.dataDir = dataDir;
    this.holderPid = holderPid;
    this.host = host;
  }
}

/** A table or queue of that name already exists with settings the job system cannot use. */
export class ResourceMismatchError extends JobSystemError {
  override name = "ResourceMismatchError" as const;
  /** For example `table "jobs" at http://127.0.0.1:8000`. */
  readonly resource: string;
  /** What differs, each as `expected …, found …`. */
  readonly differences: readonly string[];
  constructor(resource: string, differences: readonly string[], fix: string, options?: ErrorOptions) {
    super(`${resource} exists with other settings (${differences.join("; ")}): ${fix}`, options);
    this.resource = resource;
    this.differences = differences;
  }
}
