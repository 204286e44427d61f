/**
 * Maintenance pass: the lanes' dead-letter queues. A message lands there after
 * `laneMaxReceiveCount` receives without being deleted. For each one:
 * - its run is Pending at the message's attempt: the run fails with
 *   {@link DeadLetterError} (a message received that often without a claim is a poison);
 * - its run is Running at the next attempt (the message was its lease): the run is
 *   recovered if its holder is gone, else a fresh copy goes back to the lane so the lease
 *   lives on;
 * - anything else (finished, another attempt, gone): nothing to do.
 * The dead letter is then deleted. One failing message never stops the pass.
 */
import { DeleteMessageCommand, ReceiveMessageCommand, SendMessageCommand } from "@aws-sdk/client-sqs";
import { failPending } from "../domain/transitions.js";
import { DeadLetterError } from "../errors.js";
import { type Lane, parseRunMessage } from "../queue/dispatcher.js";
import { applyTransition } from "../runs/lifecycle.js";
import { toRunError } from "../worker/errors-to-record.js";
import { holderAlive, type RecoveryDeps, recoverRun } from "../worker/recovery.js";

/** What the pass did. */
export interface DeadLetterReport {
  failed: number;
  recovered: number;
  resent: number;
  errors: number;
}

export interface DeadLetterPassOptions extends RecoveryDeps {
  /** Most receives per lane in one pass (10 messages each). @default 10 */
  readonly maxReceives?: number;
  /** A container worker whose heartbeat is older than this, in ms, is gone (the workers' `leaseMs`). */
  readonly leaseMs: number;
  /** Called with a message's error (the pass goes on). @default console.error */
  readonly onError?: (error: unknown) => void;
  /** Stop receiving once this epoch ms has passed (the function's time budget). */
  readonly deadlineMs?: number;
}

export async function drainDeadLetters(options: DeadLetterPassOptions): Promise<DeadLetterReport> {
  const report: DeadLetterReport = { failed: 0, recovered: 0, resent: 0, errors: 0 };
  const { dispatcher, now } = options;
  for (const lane of dispatcher.lanes) {
    if (!lane.deadLetterQueueUrl) continue;
    for (let i = 0; i < (options.maxReceives ?? 10); i++) {
      if (options.deadlineMs !== undefined && now() > options.deadlineMs) return report;
      const out = await dispatcher.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: lane.deadLetterQueueUrl,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 0,
          MessageSystemAttributeNames: ["ApproximateReceiveCount"],
        }),
      );
      const messages = out.Messages ?? [];
      for (const message of messages) {
        try {
          await handle(
            options,
            lane,
            message.Body,
            Number(message.Attributes?.ApproximateReceiveCount),
            report,
          );
          await dispatcher.sqs.send(
            new DeleteMessageCommand({
              QueueUrl: lane.deadLetterQueueUrl,
              ReceiptHandle: message.ReceiptHandle,
            }),
          );
        } catch (error) {
          report.errors++;
          (options.onError ?? ((e) => console.error("dead letter failed:", e)))(error);
        }
      }
      if (messages.length < 10) break;
    }
  }
  return report;
}

async function handle(
  options: DeadLetterPassOptions,
  lane: Lane,
  body: string | undefined,
  receives: number | undefined,
  report: DeadLetterReport,
): Promise<void> {
  const message = parseRunMessage(body);
  if (!message) return;
  const { store, now } = options;
  const run = await store.get(message.runId);
  if (!run) return;
  if (run.status === "Pending" && run.attempt === message.attempt) {
    const error = toRunError(
      new DeadLetterError(run.runId, Number.isFinite(receives) ? receives : undefined),
    );
    const stored = await applyTransition(store, run, (r) =>
      failPending(r, message.attempt, error, "wake-up dead-lettered", now()),
    );
    if (stored) report.failed++;
    return;
  }
  if (run.status !== "Running" || run.attempt !== message.attempt + 1) return;
  if (await holderAlive(store, run, options.leaseMs, now())) {
    // A fresh copy of the lease message (a new deduplication id), on the lane it came from.
    const id = `${run.runId}-${message.attempt}-lease-${now()}`;
    await options.dispatcher.sqs.send(
      new SendMessageCommand({
        QueueUrl: lane.queueUrl,
        MessageBody: JSON.stringify(message),
        MessageGroupId: id,
        MessageDeduplicationId: id,
      }),
    );
    report.resent++;
    return;
  }
  if (await recoverRun(options, run)) report.recovered++;
}
