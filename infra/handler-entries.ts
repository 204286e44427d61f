/**
 * Lambda entry files generated at synth time.
 *
 * A user points the construct at the module that exports their `app` (a `JobApp`).
 * Each function gets a three-line entry that calls one handler factory of
 * `sdk/src/lambda/` (with that `app` when the factory takes one), which esbuild then
 * bundles. The entries are written under `<projectRoot>/node_modules/.cache/sluice-jobs/`,
 * in a folder named by a hash of their content: the path is stable from one synth to the
 * next (so the bundle's hash, and the deployed code, change only when the code does),
 * and two synths running at once with different apps never write the same file.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type * as jobHandlers from "../sdk/src/lambda/handlers.js";
import type * as realtimeHandlers from "../sdk/src/lambda/realtime-handlers.js";
import type * as streamHandlers from "../sdk/src/lambda/stream-handlers.js";

/**
 * A handler factory: the module of `sdk/src/lambda/` that exports it and its name.
 * Factories of `handlers` take the jobs' `app` (`createWorkerLambdaHandler(app)`);
 * those of `realtime-handlers` and `stream-handlers` take nothing but the environment,
 * so their bundles leave the jobs out.
 */
export type HandlerFactory =
  | { readonly module: "handlers"; readonly name: keyof typeof jobHandlers }
  | { readonly module: "realtime-handlers"; readonly name: keyof typeof realtimeHandlers }
  | { readonly module: "stream-handlers"; readonly name: keyof typeof streamHandlers };

/**
 * Path of a module of `sdk/src/lambda/`: the TypeScript source in this repository, or
 * the compiled `.js` beside a built copy of this file.
 */
export function handlerModulePath(module: HandlerFactory["module"]): string {
  const base = fileURLToPath(new URL(`../sdk/src/lambda/${module}`, import.meta.url));
  const found = [".ts", ".js"].map((ext) => base + ext).find((candidate) => existsSync(candidate));
  if (!found) throw new Error(`cannot find the SDK's Lambda handler module at ${base}.ts or ${base}.js`);
  return found;
}

/** The source of an entry exporting `handler = <factory>(app)` (or `<factory>()`). Paths are absolute. */
export function entrySource(factory: HandlerFactory, jobsEntry: string): string {
  const takesApp = factory.module === "handlers";
  return [
    "// Generated at synth time by infra/handler-entries.ts: do not edit.",
    ...(takesApp ? [`import { app } from ${JSON.stringify(jobsEntry)};`] : []),
    `import { ${factory.name} } from ${JSON.stringify(handlerModulePath(factory.module))};`,
    `export const handler = ${factory.name}(${takesApp ? "app" : ""});`,
    "",
  ].join("\n");
}

/**
 * Writes the entry (if it is not there yet) and returns its path. The write goes
 * through a temporary file and a rename, so a concurrent reader never sees half a file.
 */
export function writeEntry(projectRoot: string, fileName: string, source: string): string {
  const hash = createHash("sha256").update(source).digest("hex").slice(0, 16);
  const path = join(projectRoot, "node_modules", ".cache", "sluice-jobs", hash, fileName);
  if (!existsSync(path)) {
    mkdirSync(dirname(path), { recursive: true });
    const temporary = `${path}.${process.pid}.tmp`;
    writeFileSync(temporary, source);
    renameSync(temporary, path);
  }
  return path;
}
