/** Builds RunItem fixtures: a fresh Pending run as `newRunItem` makes it, unless overridden. */
import { type NewRunFields, newRunItem } from "../../sdk/src/store/run-factory.js";
import type { RunItem } from "../../sdk/src/store/run-item.js";

export const createdMs = Date.parse("2030-01-01T00:00:00.000Z");

/** The creation fields of a run `runId` of job `Add` (overridable). */
export function runFields(overrides: Partial<NewRunFields> = {}): NewRunFields {
  const runId = overrides.runId ?? "01RUN";
  return {
    runId,
    jobName: "Add",
    argsJson: '{"a":1,"b":2}',
    priority: 0,
    queue: "default",
    rootRunId: runId,
    createdMs,
    enqueueCount: 1,
    ...overrides,
  };
}

/** A run item: Pending at attempt 0 with its index attributes, then `overrides` applied. */
export function runItem(overrides: Partial<RunItem> = {}): RunItem {
  const { runId, jobName, parentRunId } = overrides;
  const base = newRunItem(
    runFields({
      ...(runId !== undefined ? { runId } : {}),
      ...(jobName !== undefined ? { jobName } : {}),
      ...(parentRunId !== undefined ? { parentRunId } : {}),
    }),
    false,
  );
  return { ...base, ...overrides };
}

/**
 * A run claimed for attempt `attempt` by worker w1 at `createdMs + 1000`, as the claim
 * leaves it: its Running event inline at `startSeq = seq`.
 */
export function runningItem(attempt = 1, overrides: Partial<RunItem> = {}): RunItem {
  const seq = 2 * attempt;
  return runItem({
    status: "Running",
    attempt,
    workerId: "w1",
    startedMs: createdMs + 1_000,
    seq,
    startSeq: seq,
    statusInline: true,
    ...overrides,
  });
}
