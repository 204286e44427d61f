/**
 * Re-sends the wake-up of every Pending run due within the visibility hold: for a queue
 * that lost its messages (the local SQS emulator keeps nothing across restarts). It
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
 * Sends the wake-up of every Pending run due within the hold, and with a `timer` (whose
 * timers were lost with the process) makes again the releases of runs due later and the
 * expiries of runs that had one. Returns how many wake-ups it sent.
 */
export async function resendPending(
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
        FilterExpression: "kind = :run AND #status = :pending AND enqueueCount > :zero",
        ExpressionAttributeNames: { "#status": "status" },
        ExpressionAttributeValues: { ":run": "run", ":pending": "Pending", ":zero": 0 },
        ExclusiveStartKey: startKey,
      }),
    );
    const runs = (out.Items ?? []) as RunItem[];
    const due = runs.filter((run) => dueMs(run) - nowMs <= maxHoldMs);
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
