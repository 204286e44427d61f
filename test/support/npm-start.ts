/**
 * `npm start` as a user runs it, for the CLI tests: the real npm, the real process tree
 * (npm → node → DynamoDB Local and its watchdog), the banner parsed for the endpoints.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const repoRoot = fileURLToPath(new URL("../..", import.meta.url));

export interface NpmStart {
  readonly child: ChildProcess;
  /** Everything printed so far, stdout and stderr interleaved. */
  output(): string;
  /** Resolves with the exit code (or the signal's name). */
  readonly exited: Promise<number | string>;
}

/** Runs `npm <npmArgs>` in the repository (e.g. `["start", "--", "--persist"]`). */
export function npmStart(npmArgs: readonly string[], env: NodeJS.ProcessEnv = {}): NpmStart {
  const child = spawn("npm", [...npmArgs], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => (out += chunk));
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => (out += chunk));
  const exited = new Promise<number | string>((resolve) =>
    child.once("exit", (code, signal) => resolve(code ?? signal ?? "unknown")),
  );
  return { child, output: () => out, exited };
}

/** Resolves once the banner's last line is out, with its `export NAME='value'` lines as a map. */
export async function waitForBanner(start: NpmStart, timeoutMs = 90_000): Promise<Record<string, string>> {
  const deadline = Date.now() + timeoutMs;
  let code: number | string | undefined;
  void start.exited.then((c) => (code = c));
  while (!start.output().includes("Press Ctrl-C to stop.")) {
    if (code !== undefined)
      throw new Error(`npm start exited (${code}) before it was up:\n${start.output()}`);
    if (Date.now() > deadline) throw new Error(`npm start was not up in time:\n${start.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return Object.fromEntries(
    [...start.output().matchAll(/^ {2}export (\w+)='(.*)'$/gm)].map((m) => [m[1], m[2]]),
  );
}

/** Process ids below `pid` with their command lines (from `ps`). */
export function descendants(pid: number): { pid: number; command: string }[] {
  const rows = execFileSync("ps", ["-eo", "pid=,ppid=,args="], { encoding: "utf8" })
    .split("\n")
    .map((line) => line.trim().match(/^(\d+)\s+(\d+)\s+(.*)$/))
    .filter((m): m is RegExpMatchArray => m !== null)
    .map((m) => ({ pid: Number(m[1]), ppid: Number(m[2]), command: m[3] ?? "" }));
  const found: { pid: number; command: string }[] = [];
  const visit = (parent: number) => {
    for (const row of rows.filter((r) => r.ppid === parent)) {
      found.push({ pid: row.pid, command: row.command });
      visit(row.pid);
    }
  };
  visit(pid);
  return found;
}
