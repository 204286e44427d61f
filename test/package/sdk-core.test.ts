/**
 * One AWS SDK core (issue 12, P7): the repository's lockfile holds one `@aws-sdk/core` and
 * one version of each `@smithy/*` package (tarball.test.ts checks the installed trees of
 * the packed package), and the check sees a second version wherever it is nested.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { sdkCoreDuplicates } from "../../scripts/sdk-core-duplicates.js";

describe("sdkCoreDuplicates", () => {
  it("finds none in this repository's lockfile", () => {
    const lock = JSON.parse(
      readFileSync(fileURLToPath(new URL("../../package-lock.json", import.meta.url)), "utf8"),
    );
    expect(sdkCoreDuplicates(lock)).toEqual(new Map());
  });

  it("names a second @aws-sdk/core or @smithy/* version, nested or not, and nothing else", () => {
    const lock = {
      packages: {
        "": { version: "0.1.0" },
        "node_modules/@aws-sdk/core": { version: "3.981.2" },
        "node_modules/@aws-sdk/client-sqs/node_modules/@aws-sdk/core": { version: "3.900.0" },
        "node_modules/@smithy/types": { version: "4.5.0" },
        "node_modules/fauxqs/node_modules/@smithy/types": { version: "4.6.0" },
        "node_modules/@smithy/core": { version: "3.1.0" },
        "node_modules/ms": { version: "2.1.3" },
        "node_modules/x/node_modules/ms": { version: "2.0.0" },
        "node_modules/@smithy/linked": { link: true },
      },
    };
    expect(sdkCoreDuplicates(lock)).toEqual(
      new Map([
        ["@aws-sdk/core", ["3.900.0", "3.981.2"]],
        ["@smithy/types", ["4.5.0", "4.6.0"]],
      ]),
    );
  });

  it("refuses a lockfile without packages (version 1)", () => {
    expect(() => sdkCoreDuplicates({})).toThrow(/not an npm lockfile of version 2 or 3/);
  });
});
