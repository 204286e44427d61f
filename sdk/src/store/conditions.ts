/**
 * Conditional updates of the run item: named condition fragments, and the update that
 * turns one item into another. A write is conditional on exactly the fields that
 * decided it (status and attempt always; `seq` for a writer that does not hold the
 * attempt), so a lost race surfaces as a failed condition, never as a double transition.
 */
import type { RunItem } from "./run-item.js";

/** A piece of a condition expression with its names and values. */
export interface Fragment {
  readonly expr: string;
  readonly names: Record<string, string>;
  readonly values: Record<string, unknown>;
}

/** Named condition fragments; each takes the run as read. */
export const conditions: Record<"status" | "attempt" | "seq", (run: RunItem) => Fragment> = {
  status: (run) => ({
    expr: "#status = :c_status",
    names: { "#status": "status" },
    values: { ":c_status": run.status },
  }),
  attempt: (run) => ({
    expr: "#attempt = :c_attempt",
    names: { "#attempt": "attempt" },
    values: { ":c_attempt": run.attempt },
  }),
  seq: (run) => ({
    expr: "#seq = :c_seq",
    names: { "#seq": "seq" },
    values: { ":c_seq": run.seq },
  }),
};

/** Attributes no update may change: the keys and the index attributes (set once, at creation). */
const fixed = new Set(["pk", "sk", "jobPk", "createdSk", "parentPk"]);

/**
 * An UpdateItem's expressions: SET/REMOVE of the attributes that differ between
 * `before` and `after`, under `guards`. `changed` is false when nothing differs.
 */
export function updateOf(before: RunItem, after: RunItem, guards: readonly Fragment[]) {
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = {};
  const sets: string[] = [];
  const removes: string[] = [];
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  let i = 0;
  for (const key of keys) {
    if (fixed.has(key)) continue;
    const a = (before as unknown as Record<string, unknown>)[key];
    const b = (after as unknown as Record<string, unknown>)[key];
    if (JSON.stringify(a) === JSON.stringify(b)) continue;
    names[`#u${i}`] = key;
    if (b === undefined) removes.push(`#u${i}`);
    else {
      values[`:u${i}`] = b;
      sets.push(`#u${i} = :u${i}`);
    }
    i++;
  }
  for (const guard of guards) {
    Object.assign(names, guard.names);
    Object.assign(values, guard.values);
  }
  const clauses = [
    sets.length > 0 ? `SET ${sets.join(", ")}` : "",
    removes.length > 0 ? `REMOVE ${removes.join(", ")}` : "",
  ];
  return {
    UpdateExpression: clauses.filter(Boolean).join(" "),
    ConditionExpression: guards.map((g) => g.expr).join(" AND "),
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: values,
    changed: sets.length + removes.length > 0,
  };
}
