/**
 * `npm run lint` step: fails when a lockfile holds two versions of `@aws-sdk/core` or of
 * any `@smithy/*` package (see sdk-core-duplicates.ts).
 *
 *   tsx scripts/check-single-sdk-core.ts [path/to/package-lock.json]   (default: ./package-lock.json)
 */
import { readFileSync } from "node:fs";
import { sdkCoreDuplicates } from "./sdk-core-duplicates.js";

const file = process.argv[2] ?? "package-lock.json";
const duplicates = sdkCoreDuplicates(JSON.parse(readFileSync(file, "utf8")));
if (duplicates.size > 0) {
  for (const [name, versions] of duplicates) console.error(`${file}: ${name} in ${versions.join(", ")}`);
  console.error(
    "Two AWS SDK cores in one tree: align the @aws-sdk/* ranges in package.json, then `npm dedupe`.",
  );
  process.exit(1);
}
console.log(`${file}: one @aws-sdk/core and one version of each @smithy/* package`);
