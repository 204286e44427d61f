/** Table keys of each item kind (DESIGN.md §3). One place builds them all. */

/** Width of zero-padded numbers in sort keys, so string order is numeric order. */
const pad = (n: number, width: number) => String(Math.max(0, Math.floor(n))).padStart(width, "0");

export const runKey = (runId: string) => ({ pk: `RUN#${runId}`, sk: "#RUN" });
export const eventKey = (runId: string, seq: number) => ({ pk: `RUN#${runId}`, sk: eventSk(seq) });
export const eventSk = (seq: number) => `EVT#${pad(seq, 12)}`;
export const dedupKey = (jobName: string, deduplicationId: string) => ({
  pk: `DEDUP#${jobName}#${deduplicationId}`,
  sk: "#DEDUP",
});
export const jobKey = (jobName: string) => ({ pk: `JOB#${jobName}`, sk: "#JOB" });

export const jobPk = (jobName: string) => `JOB#${jobName}`;
export const parentPk = (runId: string) => `PARENT#${runId}`;
export const statusPk = (status: string) => `STATUS#${status}`;
export const duePk = (status: "Pending" | "Running") => `DUE#${status}`;
/** Sort key by creation: ISO time then run id (run ids break ties). */
export const createdSk = (createdAt: string, runId: string) => `${createdAt}#${runId}`;
/** Sort key by a due time in epoch ms (15 digits covers dates past year 30000). */
export const dueSk = (dueMs: number, runId: string) => `${pad(dueMs, 15)}#${runId}`;
/** Upper bound for due-time range queries: every key due at or before `ms`. */
export const dueSkUpTo = (ms: number) => `${pad(ms, 15)}#~`;

/** A WebSocket subscription, found by the run it watches (fanout) ... */
export const subscriptionKey = (runId: string, connectionId: string) => ({
  pk: `SUB#${runId}`,
  sk: `CONN#${connectionId}`,
});
/** ... and by its connection (cleanup on disconnect). */
export const connectionSubscriptionKey = (connectionId: string, runId: string) => ({
  pk: `CONN#${connectionId}`,
  sk: `SUB#${runId}`,
});
