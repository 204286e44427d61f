/**
 * Local stack safety (issue 12, P2 and the stable ports of --persist): a data folder is
 * locked while a stack runs, a second stack on it refuses naming the folder and the holder,
 * `kill -9` of the holder leaves no DynamoDB Local behind (its watchdog ends it), and the
 * next stack takes the dead holder's lock over and listens on the same ports.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { lockFileName } from "../../local/data-dir-lock.js";
import { DataDirLockedError } from "../../local/errors.js";
import { isProcessAlive } from "../../local/process-alive.js";
import { type LocalStack, startLocalStack } from "../../local/stack.js";
import { JobApp } from "../../sdk/src/jobs/job-app.js";

const repoRoot = fileURLToPath(new URL("../..", import.meta.url));

interface Ready {
  pid: number;
  dynamoDbEndpoint: string;
  sqsEndpoint: string;
  webSocketUrl: string;
}

/** Starts test/support/stack-process.ts on `dataDir` and resolves once it is up. */
function startStackProcess(dataDir: string): Promise<{ child: ChildProcess; ready: Ready }> {
  const child = spawn(process.execPath, ["--import", "tsx", "test/support/stack-process.ts"], {
    cwd: repoRoot,
    env: { ...process.env, DATA_DIR: dataDir },
    stdio: ["pipe", "pipe", "inherit"],
  });
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
      out += chunk;
      const line = out.split("\n").find((l) => l.startsWith("ready "));
      if (line) resolve({ child, ready: JSON.parse(line.slice("ready ".length)) });
    });
    child.once("exit", (code) => reject(new Error(`stack process exited (${code}) before it was ready`)));
  });
}

async function waitUntil(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

const app = new JobApp();
app.addJob("Add", ({ a, b }: { a: number; b: number }) => a + b);

describe("a data folder holds one stack at a time", () => {
  const children: ChildProcess[] = [];
  const stacks: LocalStack[] = [];
  let dir: string | undefined;

  afterEach(async () => {
    for (const child of children.splice(0)) child.kill("SIGKILL");
    await Promise.all(stacks.splice(0).map((s) => s.stop()));
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("refuses a second stack, and takes a killed holder's folder over once its Java is gone, on the same ports", async () => {
    dir = await mkdtemp(join(tmpdir(), "stack-lock-"));
    const dataDir = join(dir, "data");
    const { child, ready } = await startStackProcess(dataDir);
    children.push(child);
    const lock = JSON.parse(await readFile(join(dataDir, lockFileName), "utf8")) as {
      pid: number;
      javaPid: number;
    };
    expect(lock.pid).toBe(ready.pid);
    expect(isProcessAlive(lock.javaPid)).toBe(true);

    // Act 1: a second stack on the same folder.
    const second = startLocalStack({ app, dataDir, workers: 0 });
    await expect(second).rejects.toThrow(DataDirLockedError);
    await expect(second).rejects.toThrow(`data folder ${dataDir} is in use by process ${ready.pid}`);

    // Act 2: kill -9 the holder; its DynamoDB Local must not outlive it.
    child.kill("SIGKILL");
    expect(await waitUntil(() => !isProcessAlive(lock.javaPid), 5_000)).toBe(true);

    // Act 3: a new stack on the folder takes the lock over, and gets the same ports back.
    const third = await startLocalStack({ app, dataDir, workers: 1 });
    stacks.push(third);
    expect(third.dynamoDbEndpoint).toBe(ready.dynamoDbEndpoint);
    expect(third.sqsEndpoint).toBe(ready.sqsEndpoint);
    expect(third.webSocket.url).toBe(ready.webSocketUrl);
    expect(JSON.parse(await readFile(join(dataDir, lockFileName), "utf8")).pid).toBe(process.pid);
    await expect(third.system.client.run("Add", { a: 2, b: 3 })).resolves.toBe(5);

    // stop() releases the folder.
    await third.stop();
    await expect(readFile(join(dataDir, lockFileName), "utf8")).rejects.toThrow(/ENOENT/);
  }, 120_000);

  it("starts on a free port when another program took a saved one meanwhile, keeping the others", async () => {
    dir = await mkdtemp(join(tmpdir(), "stack-ports-"));
    const dataDir = join(dir, "data");
    const first = await startLocalStack({ app, dataDir, workers: 0 });
    await first.stop();
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(Number(new URL(first.webSocket.url).port), "127.0.0.1", r));
    try {
      const second = await startLocalStack({ app, dataDir, workers: 0 });
      stacks.push(second);
      expect(second.webSocket.url).not.toBe(first.webSocket.url);
      expect(second.dynamoDbEndpoint).toBe(first.dynamoDbEndpoint);
      expect(second.sqsEndpoint).toBe(first.sqsEndpoint);
    } finally {
      taken.close();
    }
  }, 120_000);
});
