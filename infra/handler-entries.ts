/**
 * Lambda entry files generated at synth time.
 *
 * A user points the construct at the module that exports their `app` (a `JobApp`).
 * Each function gets a three-line entry that imports that `app` and one handler
 * factory of `sdk/src/lambda/handlers.ts`, which esbuild then bundles. The entries are
 * written under `<projectRoot>/node_modules/.cache/sluice-jobs/`, in a folder named by
 * a hash of their content: the path is stable from one synth to the next (so the
 * bundle's hash, and the deployed code, change only when the code does), and two
 * synths running at once with different apps never write the same file.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type * as handlers from "../sdk/src/lambda/handlers.js";

/** Names of the handler factories exported by `sdk/src/lambda/handlers.ts`. */
export type HandlerFactoryName = keyof typeof handlers;

/**
 * The SDK module holding the handler factories: the TypeScript source in this
 * repository, or the compiled `.js` beside a built copy of this file.
 */
export function handlersModulePath(): string {
  const base = fileURLToPath(new URL("../sdk/src/lambda/handlers", import.meta.url));
  const found = [".ts", ".js"].map((ext) => base + ext).find((candidate) => existsSync(candidate));
  if (!found) throw new Error(`cannot find the SDK's Lambda handlers module at ${base}.ts or ${base}.js`);
  return found;
}

/** The source of an entry exporting `handler = <factory>(app)`. Paths are absolute. */
export function entrySource(jobsEntry: string, factory: HandlerFactoryName, handlersModule: string): string {
  return [
    `// Generated at synth time by infra/handler-entries.ts: do not edit.`,
    `import { app } from ${JSON.stringify(jobsEntry)};`,
    `import { ${factory} } from ${JSON.stringify(handlersModule)};`,
    `export const handler = ${factory}(app);`,
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
