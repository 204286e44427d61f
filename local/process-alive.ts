/** Whether a process is still running, for the data-folder lock and the tests. */
import { readFileSync } from "node:fs";

/**
 * Whether process `pid` exists and has not exited. A process of another user counts
 * (signalling it is refused, not failed); a zombie does not (it exited, and only waits for
 * its parent, or an init that may be slow, to reap it; Linux's `/proc/<pid>/stat` tells).
 */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
  try {
    // "<pid> (<command>) <state> …": the state follows the last ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return true; // no /proc (macOS): signalling worked, so it runs
  }
}
