/**
 * A watchdog that ends a child process when this process dies, however it dies.
 *
 * An `exit` hook cannot run on `kill -9`, and Linux's parent-death signal is out of
 * Node's reach. So a tiny Node process (inline code, no file) holds the read end of a
 * pipe whose write end only this process has: the kernel closes that end when this
 * process dies, the watchdog reads end-of-file, sends the child SIGTERM, and SIGKILL if
 * it is still there after `graceMs`. It runs in its own process group, so a terminal's
 * Ctrl-C does not reach it.
 */
import { type ChildProcess, spawn } from "node:child_process";

export interface ParentWatchdog {
  /** Ends the watchdog without touching the child (call it once the child exited). Idempotent. */
  stop(): void;
}

/** Runs in the watchdog: argv[1] is the child's pid, argv[2] the grace in ms. */
const watchdogSource = `
const pid = Number(process.argv[1]);
const graceMs = Number(process.argv[2]);
const alive = () => { try { process.kill(pid, 0); return true; } catch { return false; } };
const end = () => {
  if (!alive()) process.exit(0);
  process.kill(pid, "SIGTERM");
  const deadline = Date.now() + graceMs;
  setInterval(() => {
    if (!alive()) process.exit(0);
    if (Date.now() > deadline) { try { process.kill(pid, "SIGKILL"); } catch {} process.exit(0); }
  }, 50);
};
process.stdin.on("end", end).on("error", end).resume();
`;

/** Starts a watchdog for `child` (none if it never started); the watchdog does not keep this process alive. */
export function watchOverChild(child: ChildProcess, graceMs = 3_000): ParentWatchdog {
  if (child.pid === undefined) return { stop: () => undefined }; // it never started
  const watchdog = spawn(process.execPath, ["-e", watchdogSource, String(child.pid), String(graceMs)], {
    detached: true,
    stdio: ["pipe", "ignore", "ignore"],
    env: {},
  });
  watchdog.on("error", () => undefined); // best effort: the exit hook still covers a normal exit
  watchdog.unref();
  (watchdog.stdin as unknown as { unref?: () => void } | null)?.unref?.();
  let stopped = false;
  return {
    stop() {
      if (stopped) return;
      stopped = true;
      watchdog.kill("SIGKILL");
      watchdog.stdin?.destroy();
    },
  };
}
