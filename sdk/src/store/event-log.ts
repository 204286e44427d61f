/**
 * Reading a run's event log: the event items merged with the status events the run
 * item carries inline, in one total order with no gap (invariant 4).
 *
 * Why this order is safe to read without a shared counter:
 * - every writer writes event `k` only after it saw `k - 1` committed (the attempt's
 *   holder writes its events one after another; another writer takes one past the last
 *   id it read), and an event id is claimed with `attribute_not_exists`, so two writers
 *   never both commit one id;
 * - the run item is read first: if it is terminal at `seq = T`, every event before `T`
 *   was committed before it, so the reader yields up to `T` and stops;
 * - while the run is not terminal, the reader yields only an unbroken run of ids and
 *   waits (polls again) at the first one missing: an event still being written.
 *
 * An inline status event wins over an event item with the same id, and data events of
 * an earlier attempt written after the current attempt started (a stale worker that has
 * not yet seen it lost the run) are dropped, so every reader sees the same sequence.
 */
import { isTerminal } from "../domain/run.js";
import type { LogLine, RunEvent } from "../domain/run-event.js";
import { type EventItem, isDataEvent, toRunEvent } from "./event-item.js";
import { eventSk, lastEventSk, runPk } from "./keys.js";
import { inlineEvents, type RunItem } from "./run-item.js";
import type { RunStore } from "./run-store.js";

/** Events of `runId` after `sinceEventId` that are committed now, in order. */
export async function* readEvents(
  store: RunStore,
  runId: string,
  sinceEventId: number,
): AsyncIterable<RunEvent> {
  const run = await store.get(runId);
  if (!run) return;
  const byId = new Map<number, RunEvent>();
  for await (const item of store.query<EventItem>({
    KeyConditionExpression: "pk = :pk AND sk BETWEEN :from AND :to",
    ExpressionAttributeValues: {
      ":pk": runPk(runId),
      ":from": eventSk(sinceEventId + 1),
      ":to": lastEventSk,
    },
    ConsistentRead: true,
  })) {
    byId.set(item.eventId, toRunEvent(item));
  }
  for (const event of inlineEvents(run)) if (event.eventId > sinceEventId) byId.set(event.eventId, event);
  yield* ordered(run, byId, sinceEventId);
}

function* ordered(run: RunItem, byId: Map<number, RunEvent>, sinceEventId: number): Iterable<RunEvent> {
  const terminal = isTerminal(run.status);
  const ids = [...byId.keys()].filter((id) => !terminal || id <= run.seq).sort((a, b) => a - b);
  let expected = sinceEventId + 1;
  for (const id of ids) {
    // A hole below a terminal run's last event can only be a write that failed for good: skip it.
    if (id !== expected && !terminal) return;
    expected = id + 1;
    const event = byId.get(id) as RunEvent;
    if (isStale(run, event)) continue;
    yield event;
  }
}

/** A data event of an earlier attempt, written after the current attempt's `Running` event. */
function isStale(run: RunItem, event: RunEvent): boolean {
  return (
    isDataEvent(event) &&
    run.startSeq !== undefined &&
    event.eventId > run.startSeq &&
    event.attempt !== run.attempt
  );
}

/** The end of a run's log that a snapshot shows. */
export interface RunTail {
  /** The last log lines of the current attempt, formatted `<at> <LEVEL> <message>`, oldest first (at most 20). */
  readonly recentLogs: string[];
  /** The latest progress the current attempt reported. */
  readonly progress?: number;
}

/** Most log lines a snapshot shows (`recentLogs`). */
export const recentLogLimit = 20;
/** Most events read back from the end of the log for a snapshot. */
const tailEvents = 50;

/**
 * The last log lines and progress of the run's current attempt, read backwards from the
 * end of its log (at most {@link tailEvents} events). Costs nothing for a run that has not
 * started or never logged.
 */
export async function readTail(store: RunStore, run: RunItem): Promise<RunTail> {
  if (run.status !== "Running" && !run.logged) return { recentLogs: [] };
  const lines: LogLine[] = [];
  let progress: number | undefined;
  const out = store.query<EventItem>({
    KeyConditionExpression: "pk = :pk AND sk BETWEEN :from AND :to",
    ExpressionAttributeValues: {
      ":pk": runPk(run.runId),
      ":from": eventSk((run.startSeq ?? 0) + 1),
      ":to": lastEventSk,
    },
    ScanIndexForward: false,
    Limit: tailEvents,
    ConsistentRead: true,
  });
  let read = 0;
  for await (const item of out) {
    if (++read > tailEvents) break;
    if (item.attempt !== run.attempt) continue;
    const event = toRunEvent(item);
    if (event.type === "progress" && progress === undefined) progress = event.progress;
    if (event.type === "log") lines.unshift(...event.lines);
    if (lines.length >= recentLogLimit && progress !== undefined) break;
  }
  return {
    recentLogs: lines.slice(-recentLogLimit).map((l) => `${l.at} ${l.level.toUpperCase()} ${l.message}`),
    ...(progress !== undefined ? { progress } : {}),
  };
}
