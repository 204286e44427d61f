import { defineConfig } from "vitest/config";

// Quiet the AWS SDK's notice that its releases after January 2027 need Node 22 (its
// documented switch), in this process (the global setup) and every child it starts.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

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
        },
      },
    ],
  },
});
