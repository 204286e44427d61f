/**
 * Re-sends the messages a queue that lost them (the local SQS emulator keeps nothing
 * across restarts) would hold: the wake-up of every Pending run due within the
 * visibility hold, and the lease message of every Running run, whose holder may have
 * died with the process (a hard stop: a second Ctrl-C, `kill -9`). A worker that
 * receives a lease message holds it while the holder lives and recovers the run once
 * it is gone (`worker/worker-core.ts`), as with any returned lease message. It
 * scans the whole table, so it is for the local stack's start, not for a deployed
 * system (SQS does not lose accepted messages; there the stream consumer and the
 * maintenance passes cover every case).
 */
import { ScanCommand } from "@aws-sdk/lib-dynamodb";
import type { Dispatcher } from "../queue/dispatcher.js";
import { maxHoldMs } from "../queue/visibility.js";
import { dueMs, type RunItem } from "../store/run-item.js";
import type { RunStore } from "../store/run-store.js";
import type { RunTimer } from "../timer/timer-port.js";

/**
 * Sends the wake-up of every Pending run due within the hold and the lease message of
 * every Running run, and with a `timer` (whose timers were lost with the process) makes
 * again the releases of runs due later and the expiries of runs that had one. Returns
 * how many messages it sent.
 */
export async function resendWakeUps(
  store: RunStore,
  dispatcher: Dispatcher,
  timer?: RunTimer,
  nowMs = Date.now(),
): Promise<number> {
  let sent = 0;
  let startKey: Record<string, unknown> | undefined;
  do {
    const out = await store.doc.send(
      new ScanCommand({
        TableName: store.tableName,
        FilterExpression:
          "kind = :run AND ((#status = :pending AND enqueueCount > :zero) OR #status = :running)",
        ExpressionAttributeNames: { "#status": "status" },
        ExpressionAttributeValues: {
          ":run": "run",
          ":pending": "Pending",
          ":running": "Running",
          ":zero": 0,
        },
        ExclusiveStartKey: startKey,
      }),
    );
    const items = (out.Items ?? []) as RunItem[];
    const running = items.filter((run) => run.status === "Running");
    const runs = items.filter((run) => run.status === "Pending");
    // A running attempt's message carries the attempt it claimed from.
    const leases = running.map((run) => ({ ...run, attempt: run.attempt - 1 }));
    const due = [...runs.filter((run) => dueMs(run) - nowMs <= maxHoldMs), ...leases];
    if (due.length > 0) await dispatcher.sendBatch(due);
    for (const run of runs) {
      if (!timer) break;
      if (dueMs(run) - nowMs > maxHoldMs) await timer.scheduleRelease(run, dueMs(run));
      if (run.timerExpiry && run.notAfterMs !== undefined) await timer.scheduleExpiry(run, run.notAfterMs);
    }
    sent += due.length;
    startKey = out.LastEvaluatedKey;
  } while (startKey);
  return sent;
}
