/**
 * The Lambda adapter: an SQS event (a batch from one lane, via the event source
 * mapping) in, `batchItemFailures` out (partial batch responses; the mapping must have
 * `ReportBatchItemFailures` on).
 *
 * - processed (or dropped as duplicate/stale): success, so the mapping deletes it;
 * - not due yet: its visibility is set to the remaining time, and it is reported as a
 *   failure so the mapping leaves it in the queue;
 * - an infrastructure error: reported as a failure, redelivered after the visibility timeout.
 *
 * Records are processed concurrently. SQS FIFO orders messages within a message group
 * only, and every message is its own group (see `queue/dispatcher.ts`), so reporting
 * exactly the failed records cannot reorder anything that must stay ordered.
 * Each handler's signal aborts `deadlineMarginMs` before the function's own timeout, and
 * its run is handed back to Pending without counting a failed attempt (a new wake-up
 * is sent; see `transitions.handBack` for the cap).
 */
import { ChangeMessageVisibilityCommand } from "@aws-sdk/client-sqs";
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import type { Dispatcher } from "../queue/dispatcher.js";
import { parseRunMessage } from "../queue/dispatcher.js";
import type { WorkerCore } from "../worker/worker-core.js";

export interface SqsWorkerHandlerOptions {
  readonly core: WorkerCore;
  readonly dispatcher: Dispatcher;
  /** Time kept back before the Lambda deadline to record the attempt, in ms. @default 5000 */
  readonly deadlineMarginMs?: number;
  /** Called with each record's error. @default console.error */
  readonly onError?: (error: unknown, record: SQSRecord) => void;
}

/** The queue URL of a record's queue, from its ARN (`arn:aws:sqs:<region>:<account>:<name>`). */
function queueUrlOf(dispatcher: Dispatcher, record: SQSRecord): string | undefined {
  const name = record.eventSourceARN.split(":").pop() ?? "";
  return dispatcher.lanes.find((lane) => lane.queueUrl.endsWith(`/${name}`))?.queueUrl;
}

/**
 * Builds the worker Lambda's handler.
 *
 * @example
 * ```ts
 * export const handler = createSqsWorkerHandler({ core, dispatcher: system.dispatcher });
 * ```
 */
export function createSqsWorkerHandler(options: SqsWorkerHandlerOptions) {
  const margin = options.deadlineMarginMs ?? 5000;
  return async (
    event: SQSEvent,
    context: Pick<Context, "getRemainingTimeInMillis">,
  ): Promise<SQSBatchResponse> => {
    const holdUntilMs = Date.now() + context.getRemainingTimeInMillis();
    const deadlineMs = holdUntilMs - margin;
    const failures = await Promise.all(
      event.Records.map(async (record): Promise<string | undefined> => {
        try {
          const message = parseRunMessage(record.body);
          if (!message) return undefined; // not ours: drop it rather than loop on it
          const disposition = await options.core.process(message, { deadlineMs, holdUntilMs });
          if (disposition.action === "delete") return undefined;
          const queueUrl = queueUrlOf(options.dispatcher, record);
          if (queueUrl) {
            await options.dispatcher.sqs.send(
              new ChangeMessageVisibilityCommand({
                QueueUrl: queueUrl,
                ReceiptHandle: record.receiptHandle,
                VisibilityTimeout: disposition.delaySeconds,
              }),
            );
          }
          return record.messageId;
        } catch (error) {
          (options.onError ?? ((e) => console.error("record failed:", e)))(error, record);
          return record.messageId;
        }
      }),
    );
    return {
      batchItemFailures: failures
        .filter((id): id is string => id !== undefined)
        .map((itemIdentifier) => ({ itemIdentifier })),
    };
  };
}
