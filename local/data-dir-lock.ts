/**
 * One stack per data folder. Two DynamoDB Local processes on the same files, or two sets
 * of stream consumers sharing positions, silently lose runs; so a stack holds a lock file
 * in its data folder while it runs: `local-stack.lock`, JSON with the holder's pid, host,
 * start time and, once started, its DynamoDB Local's pid.
 *
 * The file is created exclusively (`wx`). A second stack finds it and refuses while the
 * holder lives. A dead holder's lock (its process was killed, even by `kill -9`) is taken
 * over, after its DynamoDB Local has exited: the watchdog of `parent-watchdog.ts` ends it
 * within seconds, and this waits up to {@link javaExitWaitMs} for that.
 */
import { mkdirSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join, resolve } from "node:path";
import { DataDirLockedError } from "./errors.js";
import { isProcessAlive } from "./process-alive.js";

/** Name of the lock file inside the data folder. */
export const lockFileName = "local-stack.lock";

/** How long a takeover waits for a dead holder's DynamoDB Local to exit, in ms. */
export const javaExitWaitMs = 10_000;

interface LockRecord {
  readonly pid: number;
  readonly host: string;
  readonly startedAt: string;
  readonly javaPid?: number;
}

/** A held data folder. */
export interface DataDirLock {
  /** The lock file, absolute. */
  readonly file: string;
  /** Records the stack's DynamoDB Local, so a takeover after a crash waits for it to exit. */
  recordJavaPid(pid: number): void;
  /** Deletes the lock file if this process still holds it. Idempotent. */
  release(): void;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isProcessAlive(pid)) {
    if (Date.now() > deadline) return false;
    await sleep(50);
  }
  return true;
}

/** The holder's record, or `undefined` when the file vanished; retries a half-written file briefly. */
async function readRecord(file: string): Promise<LockRecord | undefined> {
  for (let attempt = 1; ; attempt++) {
    try {
      return JSON.parse(readFileSync(file, "utf8")) as LockRecord;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      if (attempt >= 20) return { pid: 0, host: hostname(), startedAt: "unknown" }; // unreadable: stale
      await sleep(25);
    }
  }
}

/**
 * Takes the lock of `dataDir` (created if missing). Throws {@link DataDirLockedError}
 * naming the folder and the holder while another live process holds it, or while a dead
 * holder's DynamoDB Local is still running after {@link javaExitWaitMs}.
 */
export async function lockDataDir(dataDir: string): Promise<DataDirLock> {
  const dir = resolve(dataDir);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, lockFileName);
  let record: LockRecord = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString() };
  const locked = (holder: LockRecord, detail: string) =>
    new DataDirLockedError(dir, holder.pid, holder.host, `${detail}; lock file ${file}`);

  for (;;) {
    try {
      writeFileSync(file, JSON.stringify(record), { flag: "wx" });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    const holder = await readRecord(file);
    if (!holder) continue; // released meanwhile
    if (holder.host !== hostname()) {
      throw locked(holder, "another host: delete the lock file if that stack is gone");
    }
    if (holder.pid === process.pid) throw locked(holder, "a stack of this process holds it");
    if (holder.pid > 0 && isProcessAlive(holder.pid))
      throw locked(holder, `running since ${holder.startedAt}`);
    if (holder.javaPid !== undefined && !(await waitForExit(holder.javaPid, javaExitWaitMs))) {
      throw locked(holder, `that process is gone but its DynamoDB Local (pid ${holder.javaPid}) still runs`);
    }
    try {
      unlinkSync(file); // the dead holder's: take it over
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    }
  }

  let released = false;
  return {
    file,
    recordJavaPid(javaPid) {
      record = { ...record, javaPid };
      writeFileSync(file, JSON.stringify(record));
    },
    release() {
      if (released) return;
      released = true;
      try {
        if ((JSON.parse(readFileSync(file, "utf8")) as LockRecord).pid === process.pid) unlinkSync(file);
      } catch {
        // gone already, or taken over: not ours to delete
      }
    },
  };
}
