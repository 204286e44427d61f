/**
 * The data-folder lock (local/data-dir-lock.ts) with real processes as holders: a live
 * holder is refused by name, a dead one is taken over, and a dead holder's DynamoDB Local
 * still running is waited for.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { lockDataDir, lockFileName } from "../../local/data-dir-lock.js";
import { DataDirLockedError } from "../../local/errors.js";
import { isProcessAlive } from "../../local/process-alive.js";

/** A process that runs until killed. */
const sleeper = () => spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: "ignore" });

/** The pid of a process that has exited (and been reaped). */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
  await new Promise((r) => child.once("exit", r));
  return child.pid as number;
}

describe("lockDataDir", () => {
  const children: ChildProcess[] = [];
  let dir = "";
  afterEach(async () => {
    for (const child of children.splice(0)) child.kill("SIGKILL");
    await rm(dir, { recursive: true, force: true });
  });

  const holdBy = (pid: number, extra: Record<string, unknown> = {}) =>
    writeFile(
      join(dir, lockFileName),
      JSON.stringify({ pid, host: hostname(), startedAt: "2026-12-01T00:00:00.000Z", ...extra }),
    );

  it("refuses while the holder lives, naming the folder, the holder and the lock file", async () => {
    dir = await mkdtemp(join(tmpdir(), "lock-"));
    const holder = sleeper();
    children.push(holder);
    await holdBy(holder.pid as number);

    const attempt = lockDataDir(dir);

    await expect(attempt).rejects.toThrow(DataDirLockedError);
    await expect(attempt).rejects.toThrow(
      `data folder ${dir} is in use by process ${holder.pid} on ${hostname()} (running since 2026-12-01T00:00:00.000Z; lock file ${join(dir, lockFileName)}): stop it first, or use another folder`,
    );
  });

  it("takes a dead holder's lock over, and release() deletes only its own", async () => {
    dir = await mkdtemp(join(tmpdir(), "lock-"));
    await holdBy(await deadPid());

    const lock = await lockDataDir(dir);
    expect(JSON.parse(await readFile(lock.file, "utf8")).pid).toBe(process.pid);
    await expect(lockDataDir(dir)).rejects.toThrow("a stack of this process holds it");
    lock.release();
    await expect(readFile(lock.file, "utf8")).rejects.toThrow(/ENOENT/);
  });

  it("waits for a dead holder's DynamoDB Local to exit before taking over", async () => {
    dir = await mkdtemp(join(tmpdir(), "lock-"));
    const java = sleeper();
    children.push(java);
    await holdBy(await deadPid(), { javaPid: java.pid });
    setTimeout(() => java.kill("SIGKILL"), 300);

    const lock = await lockDataDir(dir);

    expect(isProcessAlive(java.pid as number)).toBe(false);
    lock.release();
  });
});
