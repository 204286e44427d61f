/** Builds RunItem fixtures for unit tests: a fresh Pending run unless overridden. */
import type { RunItem } from "../../sdk/src/store/run-item.js";

export const createdMs = Date.parse("2030-01-01T00:00:00.000Z");

export function runItem(overrides: Partial<RunItem> = {}): RunItem {
  const runId = overrides.runId ?? "01RUN";
  return {
    pk: `RUN#${runId}`,
    sk: "#RUN",
    kind: "run",
    runId,
    jobName: "Add",
    status: "Pending",
    attempt: 0,
    argsJson: '{"a":1,"b":2}',
    priority: 0,
    queue: "default",
    rootRunId: runId,
    progress: 0,
    createdAt: new Date(createdMs).toISOString(),
    createdMs,
    recentLogs: [],
    eventSeq: 1,
    enqueueCount: 1,
    enqueuedMs: createdMs,
    ...overrides,
  };
}
