/**
 * Wake-ups derived from the table (invariant 3, nothing is lost): a consumer of the
 * table's stream that sends the wake-up of every run a write left Pending and due, or
 * makes its timers. The writer sends the same wake-up at once (the fast path); this is
 * the reliable path, so a writer that dies between its write and its send delays its run
 * by the stream's lag, and nothing sweeps Pending runs to guess which lost a message.
 *
 * A record needs a wake-up when the new image is a Pending run and it is new, or its
 * attempt or wake-up count changed. The message is the one the writer sent (same
 * `MessageDeduplicationId`: SQS drops the copy within 5 minutes; the claim drops a later
 * one). Due beyond the timer's threshold: the timer's release (named per run and
 * attempt: a repeat is a no-op). Due beyond the visibility hold with no timer: nothing;
 * the run is in the sparse `byLater` index the maintenance pass reads. New runs with an
 * expiry timer get it here too.
 *
 * Failures throw: the event source mapping retries the batch (never skips it), and a
 * repeated send or schedule is harmless.
 */
import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import type { DynamoDBStreamEvent } from "aws-lambda";
import { maxScheduleAheadMs } from "../domain/run-options.js";
import type { Dispatcher } from "../queue/dispatcher.js";
import { dueMs, type RunItem } from "../store/run-item.js";
import { type RunTimer, releasePath } from "../timer/timer-port.js";

/** Stream records as the stream consumers read them (the Lambda event's shape). */
export type StreamRecords = Pick<DynamoDBStreamEvent, "Records">;

/** A record's images as run items (`undefined` where the image is absent or not a run). */
export function runImages(record: StreamRecords["Records"][number]): { old?: RunItem; new?: RunItem } {
  const image = (raw: unknown) => {
    if (!raw) return undefined;
    const item = unmarshall(raw as Record<string, AttributeValue>) as RunItem;
    return item.kind === "run" ? item : undefined;
  };
  const old = image(record.dynamodb?.OldImage);
  const next = image(record.dynamodb?.NewImage);
  return { ...(old ? { old } : {}), ...(next ? { new: next } : {}) };
}

/** Whether a write from `old` to `next` asks for a wake-up. */
export function needsWakeUp(old: RunItem | undefined, next: RunItem | undefined): next is RunItem {
  if (next?.status !== "Pending") return false;
  return old?.status !== "Pending" || old.attempt !== next.attempt || old.enqueueCount !== next.enqueueCount;
}

export interface WakeUpOptions {
  readonly dispatcher: Dispatcher;
  readonly timer?: RunTimer;
  /** Clock, epoch ms. @default Date.now */
  readonly now?: () => number;
}

/** What one batch led to. */
export interface WakeUpReport {
  sent: number;
  scheduled: number;
}

/** Builds the handler: stream records in, wake-ups out. */
export function createWakeUpHandler(options: WakeUpOptions) {
  const now = options.now ?? Date.now;
  return async (event: StreamRecords): Promise<WakeUpReport> => {
    const sends: RunItem[] = [];
    const schedules: Promise<void>[] = [];
    for (const record of event.Records) {
      const images = runImages(record);
      const run = images.new;
      if (
        record.eventName === "INSERT" &&
        run?.timerExpiry &&
        run.notAfterMs !== undefined &&
        options.timer
      ) {
        if (run.notAfterMs - now() <= maxScheduleAheadMs)
          schedules.push(options.timer.scheduleExpiry(run, run.notAfterMs));
      }
      if (!needsWakeUp(images.old, run)) continue;
      if (run.enqueueCount === 0) continue; // due beyond the hold with no timer: the byLater pass sends it
      const path = releasePath(options.timer, dueMs(run), now());
      if (path === "lane") sends.push(run);
      else if (path === "timer" && options.timer)
        schedules.push(options.timer.scheduleRelease(run, dueMs(run)));
    }
    await Promise.all([sends.length > 0 ? options.dispatcher.sendBatch(sends) : undefined, ...schedules]);
    return { sent: sends.length, scheduled: schedules.length };
  };
}
