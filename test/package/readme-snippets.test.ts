/**
 * The README's "Use it in your project" blocks are the files of test/package/snippets,
 * verbatim, so what tarball.test.ts installs and runs is what a reader copies. The
 * container worker is in docs/DEPLOY.md too.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const repoRoot = fileURLToPath(new URL("../..", import.meta.url));
const snippets = join(repoRoot, "test/package/snippets");
const language: Record<string, string> = { ts: "ts", sh: "sh", json: "json" };

const fenced = (file: string) => {
  const ext = file.split(".").at(-1) ?? "";
  return `\`\`\`${language[ext] ?? ext}\n${readFileSync(join(snippets, file), "utf8")}\`\`\`\n`;
};

describe("the README's snippets", () => {
  const readme = readFileSync(join(repoRoot, "README.md"), "utf8");
  const files = readdirSync(snippets).sort();

  it("are all there", () => {
    expect(files).toEqual([
      "cdk.json",
      "client.ts",
      "dev.ts",
      "infra.ts",
      "install.sh",
      "jobs.ts",
      "local.ts",
      "tsconfig.json",
      "worker.ts",
    ]);
  });

  it.each(files)("%s is a block of README.md, verbatim", (file) => {
    expect(readme).toContain(fenced(file));
  });

  it("import the package's published paths only", () => {
    for (const file of files.filter((f) => f.endsWith(".ts"))) {
      const specifiers = [...readFileSync(join(snippets, file), "utf8").matchAll(/from "([^"]+)"/g)].map(
        (m) => m[1],
      );
      for (const specifier of specifiers)
        expect(specifier).toMatch(/^(sluice-jobs(\/(local|worker|lambda|infra))?|aws-cdk-lib|\.\/jobs\.js)$/);
    }
  });

  it("worker.ts is the container worker of docs/DEPLOY.md too", () => {
    expect(readFileSync(join(repoRoot, "docs/DEPLOY.md"), "utf8")).toContain(fenced("worker.ts"));
  });
});
