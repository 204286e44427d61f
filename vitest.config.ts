// The AWS SDK's Node 22 notice, off in this process (the global setup) and every child it starts.
import "./local/quiet-sdk-notice.js";
import { defineConfig } from "vitest/config";

/**
 * Two projects. `unit` (`npm run test:unit`): pure rules and AWS faults injected with
 * aws-sdk-client-mock, no emulator, a few seconds. `integration`: everything else, with
 * one DynamoDB Local and one fauxqs for the whole run (test/support/global-setup.ts).
 * `npm test` runs both.
 */
const againstEmulators = [
  // Store rules checked on DynamoDB Local itself.
  "test/unit/claim.test.ts",
  "test/unit/event-log.test.ts",
  "test/unit/run-store-transition.test.ts",
];

export default defineConfig({
  test: {
    pool: "forks",
    // Two files at a time, whatever the core count (vitest's default is cores − 1: one on
    // a 2-core CI machine). Most integration time is waiting on emulators and timers, and
    // the files that write thousands of items run on a DynamoDB Local of their own.
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    projects: [
      {
        extends: true,
        test: {
          name: "unit",
          // Threads start faster than forks; these tests share no process state.
          pool: "threads",
          include: ["test/unit/**/*.test.ts", "test/faults/**/*.test.ts"],
          exclude: againstEmulators,
        },
      },
      {
        extends: true,
        test: {
          name: "integration",
          include: [
            "test/integration/**/*.test.ts",
            "test/timer/**/*.test.ts",
            "test/infra/**/*.test.ts",
            "test/package/**/*.test.ts",
            ...againstEmulators,
          ],
          globalSetup: ["test/support/global-setup.ts"],
          setupFiles: ["test/support/dispose-resources.ts"],
        },
      },
    ],
  },
});
