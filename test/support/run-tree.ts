/**
 * Seeds a tree of runs straight into the table, for the cascade tests and the cascade
 * bench (`bench/cascade-cancel.ts`): the root and every inner run are Running at attempt
 * 1, held by a worker that is gone, and marked as having created children (as their child
 * clients would have); the leaves are Pending, created by attempt 1 of their parent. No
 * wake-up is sent, so nothing runs unless a test sends one.
 */
import { ulid } from "ulid";
import { claimRun } from "../../sdk/src/store/claim.js";
import { newRunItem } from "../../sdk/src/store/run-factory.js";
import type { RunItem } from "../../sdk/src/store/run-item.js";
import type { RunStore } from "../../sdk/src/store/run-store.js";
import { markSpawned } from "../../sdk/src/store/spawn-mark.js";

export interface RunTree {
  readonly rootRunId: string;
  /** Every run below the root. */
  readonly descendants: readonly string[];
}

/** Runs written at once while seeding. */
const seedConcurrency = 25;

/**
 * Seeds a tree whose level `i` has `shape[i]` children under each run of the level above:
 * `[10, 99]` is a root, 10 children and 990 grandchildren (1,000 descendants).
 */
export async function seedRunTree(
  store: RunStore,
  shape: readonly number[],
  jobName = "Node",
): Promise<RunTree> {
  const root = await seedRun(store, jobName, undefined, shape.length > 0);
  const descendants: string[] = [];
  let level: RunItem[] = [root];
  for (const [depth, width] of shape.entries()) {
    const inner = depth < shape.length - 1;
    const parents = level.flatMap((parent) => Array.from({ length: width }, () => parent));
    level = [];
    for (let i = 0; i < parents.length; i += seedConcurrency) {
      const made = await Promise.all(
        parents.slice(i, i + seedConcurrency).map((parent) => seedRun(store, jobName, parent, inner)),
      );
      level.push(...made);
    }
    descendants.push(...level.map((run) => run.runId));
  }
  return { rootRunId: root.runId, descendants };
}

/** One run: created Pending under `parent` (attempt 1's child); claimed and marked when it has children. */
async function seedRun(
  store: RunStore,
  jobName: string,
  parent: RunItem | undefined,
  hasChildren: boolean,
): Promise<RunItem> {
  const runId = ulid();
  const created = await store.create(
    newRunItem(
      {
        runId,
        jobName,
        priority: 0,
        queue: "default",
        createdMs: Date.now(),
        enqueueCount: 1,
        ...(parent
          ? { parentRunId: parent.runId, parentAttempt: parent.attempt, rootRunId: parent.rootRunId }
          : { rootRunId: runId }),
      },
      false,
    ),
  );
  if (!hasChildren) return created;
  const outcome = await claimRun(store, { runId, attempt: 0, workerId: "gone-worker", nowMs: Date.now() });
  if (!("claimed" in outcome)) throw new Error(`seeded run ${runId} could not be claimed`);
  await markSpawned(store, runId, outcome.claimed.attempt);
  return outcome.claimed;
}
