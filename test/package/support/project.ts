/**
 * A project of one's own, outside the repository, for the tarball test: a temporary
 * folder with a package.json, installed from the npm cache first (`--prefer-offline`),
 * whose commands run with an environment that holds nothing of this repository (no
 * `node_modules/.bin` on the PATH, no `npm_*` variables, no NODE_OPTIONS).
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const execFileAsync = promisify(execFile);

/** The environment of a fresh shell: this process's, less what npm and vitest added. */
export function cleanEnvironment(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(
      ([name]) => !/^(npm_|NODE_OPTIONS$|NODE_PATH$|INIT_CWD$|VITEST)/i.test(name),
    ),
  );
  env.PATH = (process.env.PATH ?? "")
    .split(":")
    .filter((dir) => !dir.includes("node_modules"))
    .join(":");
  return { ...env, ...extra };
}

export interface Project {
  readonly dir: string;
  /** Runs `command` (a file of `node_modules/.bin`, or `npm`/`node`) in the project; rejects with its output on failure. */
  run(command: string, args: readonly string[], env?: NodeJS.ProcessEnv, timeoutMs?: number): Promise<string>;
  /** Starts `node_modules/.bin/<command>` in the background, collecting its output. */
  start(command: string, args: readonly string[], env?: NodeJS.ProcessEnv): Background;
}

export interface Background {
  readonly child: ChildProcess;
  output(): string;
  /** Resolves once the output matches `pattern`; rejects if the process exits first. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  readonly exited: Promise<number | string>;
}

const binary = (dir: string, command: string) =>
  command === "npm" || command === "node" ? command : join(dir, "node_modules", ".bin", command);

/** Makes an empty ESM project in a new temporary folder. */
export async function createProject(name: string): Promise<Project> {
  const dir = await mkdtemp(join(tmpdir(), `sluice-${name}-`));
  await writeFile(join(dir, "package.json"), JSON.stringify({ name, private: true, type: "module" }));
  return {
    dir,
    async run(command, args, env = {}, timeoutMs = 300_000) {
      try {
        const { stdout, stderr } = await execFileAsync(binary(dir, command), [...args], {
          cwd: dir,
          env: cleanEnvironment(env),
          timeout: timeoutMs,
          maxBuffer: 64 * 1024 * 1024,
        });
        return `${stdout}${stderr}`;
      } catch (error) {
        const { stdout, stderr } = error as { stdout?: string; stderr?: string };
        throw new Error(`${command} ${args.join(" ")} failed in ${dir}:\n${stdout ?? ""}${stderr ?? ""}`, {
          cause: error,
        });
      }
    },
    start(command, args, env = {}) {
      const child = spawn(binary(dir, command), [...args], {
        cwd: dir,
        env: cleanEnvironment(env),
        stdio: ["ignore", "pipe", "pipe"],
      });
      let out = "";
      child.stdout?.setEncoding("utf8").on("data", (chunk: string) => (out += chunk));
      child.stderr?.setEncoding("utf8").on("data", (chunk: string) => (out += chunk));
      let code: number | string | undefined;
      const exited = new Promise<number | string>((resolve) =>
        child.once("exit", (c, signal) => {
          code = c ?? signal ?? "unknown";
          resolve(code);
        }),
      );
      return {
        child,
        output: () => out,
        exited,
        async waitFor(pattern, timeoutMs = 120_000) {
          const deadline = Date.now() + timeoutMs;
          for (;;) {
            const match = out.match(pattern);
            if (match) return match;
            if (code !== undefined) throw new Error(`${command} exited (${code}) before ${pattern}:\n${out}`);
            if (Date.now() > deadline) throw new Error(`${command}: no ${pattern} in time:\n${out}`);
            await new Promise((r) => setTimeout(r, 50));
          }
        },
      };
    },
  };
}
