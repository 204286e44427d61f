/**
 * Starts `test/support/worker-process.ts` in a child process on a test system's table and
 * lanes, and follows what it prints.
 */
import type { ChildProcess } from "node:child_process";
import type { TestResources } from "./local-resources.js";
import { spawnChild } from "./spawn-child.js";

export interface ChildWorker {
  readonly process: ChildProcess;
  /** Everything the child printed so far. */
  output(): string;
  /** Resolves once the child's output contains `text`. */
  printed(text: string): Promise<void>;
  /** Kills the child with SIGKILL if it still runs, and waits for it to exit. */
  kill(): Promise<void>;
}

export function startChildWorker(resources: TestResources): ChildWorker {
  const child = spawnChild("worker-process.ts", resources, { stdout: "pipe" });
  const exited = new Promise((resolve) => child.once("exit", resolve));
  let output = "";
  const waiters: { text: string; resolve: () => void }[] = [];
  child.stdout?.on("data", (chunk) => {
    output += String(chunk);
    for (const w of waiters.filter((w) => output.includes(w.text))) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
  });
  return {
    process: child,
    output: () => output,
    printed: (text) =>
      output.includes(text) ? Promise.resolve() : new Promise((resolve) => waiters.push({ text, resolve })),
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await exited;
    },
  };
}
