/**
 * A new run item with its index attributes. Index keys are set here, once: they never
 * change afterwards, so no later write to the run touches an index (a `KEYS_ONLY` entry is
 * rewritten only when its keys change).
 */
import { createdSk, dueSk, jobPk, laterPk, parentPk, shardOf } from "./keys.js";
import type { RunItem } from "./run-item.js";

/** The fields of a run at creation, without keys, index attributes and event bookkeeping. */
export type NewRunFields = Omit<
  RunItem,
  | "pk"
  | "sk"
  | "kind"
  | "status"
  | "attempt"
  | "seq"
  | "jobPk"
  | "createdSk"
  | "parentPk"
  | "laterPk"
  | "dueSk"
>;

/**
 * Builds the Pending run item. `later` puts it in the sparse `byLater` index: due beyond
 * the visibility hold with no timer to release it, so the maintenance pass finds it when due.
 */
export function newRunItem(fields: NewRunFields, later: boolean): RunItem {
  const shard = shardOf(fields.runId);
  const item: RunItem = {
    ...fields,
    pk: `RUN#${fields.runId}`,
    sk: "#RUN",
    kind: "run",
    status: "Pending",
    attempt: 0,
    seq: 1,
    statusInline: true,
    jobPk: jobPk(fields.jobName, shard),
    createdSk: createdSk(new Date(fields.createdMs).toISOString(), fields.runId),
  };
  // A batch's children hang off the batch by ordinal; the batch record is the parent's index entry.
  if (fields.parentRunId !== undefined && fields.batchId === undefined)
    item.parentPk = parentPk(fields.parentRunId, shard);
  if (later) {
    item.laterPk = laterPk(shard);
    item.dueSk = dueSk(fields.notBeforeMs ?? fields.createdMs, fields.runId);
  }
  return item;
}
