/**
 * The parent side of the tests' child processes: runs a script of test/support with tsx,
 * pointed at a test's table and lanes through the variables `child-env.ts` reads.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { inject } from "vitest";
import type { TestResources } from "./local-resources.js";

export interface SpawnChildOptions {
  /** More environment variables for the child. */
  readonly env?: Readonly<Record<string, string>>;
  /** Pipe the child's stdout (to read what it prints) or ignore it. @default "ignore" */
  readonly stdout?: "pipe" | "ignore";
}

/** Starts `test/support/<script>` on `resources`; its stderr goes to the test's. */
export function spawnChild(
  script: string,
  resources: TestResources,
  options: SpawnChildOptions = {},
): ChildProcess {
  return spawn(process.execPath, ["--import", "tsx", `test/support/${script}`], {
    env: {
      ...process.env,
      DYNAMODB_ENDPOINT: resources.dynamoDbEndpoint,
      SQS_ENDPOINT: inject("sqsEndpoint"),
      TABLE_NAME: resources.tableName,
      LANE_URLS: JSON.stringify(resources.laneUrls),
      ...options.env,
    },
    stdio: ["ignore", options.stdout ?? "ignore", "inherit"],
  });
}
