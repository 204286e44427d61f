/**
 * Deletes finished messages in batches: `DeleteMessageBatch` takes up to 10 receipt
 * handles of one queue in one request, so a busy worker pays about one delete request
 * per 10 runs instead of one per run (SQS bills per request). A delete waits at most
 * `lingerMs` for company; it is off the latency path (the run is already settled and its
 * slot free), and a delete that never happens (the process died) only means the message
 * comes back and finds its run terminal.
 */
import { DeleteMessageBatchCommand, type SQSClient } from "@aws-sdk/client-sqs";

/** Entries per `DeleteMessageBatch` request: SQS's limit. */
const maxEntries = 10;

export interface DeleteBatcherOptions {
  /** Longest a delete waits for others of its queue before it is sent, in ms. @default 20 */
  readonly lingerMs?: number;
  /** Called with a failed request or a failed entry (the message then comes back later). */
  readonly onError: (error: unknown) => void;
}

export class DeleteBatcher {
  readonly #sqs: SQSClient;
  readonly #options: DeleteBatcherOptions;
  /** Receipt handles waiting to be deleted, by queue URL, with the timer that sends them. */
  readonly #waiting = new Map<string, { handles: string[]; timer: NodeJS.Timeout }>();
  readonly #sending = new Set<Promise<void>>();

  constructor(sqs: SQSClient, options: DeleteBatcherOptions) {
    this.#sqs = sqs;
    this.#options = options;
  }

  /** Queues the delete of one message; it is sent within `lingerMs`, or at once when 10 are waiting. */
  delete(queueUrl: string, receiptHandle: string): void {
    const waiting = this.#waiting.get(queueUrl);
    if (!waiting) {
      const timer = setTimeout(() => this.#send(queueUrl), this.#options.lingerMs ?? 20);
      this.#waiting.set(queueUrl, { handles: [receiptHandle], timer });
      return;
    }
    waiting.handles.push(receiptHandle);
    if (waiting.handles.length >= maxEntries) this.#send(queueUrl);
  }

  /** Sends every waiting delete now and resolves when all sent requests have settled. */
  async flush(): Promise<void> {
    for (const queueUrl of [...this.#waiting.keys()]) this.#send(queueUrl);
    await Promise.allSettled(this.#sending);
  }

  #send(queueUrl: string): void {
    const waiting = this.#waiting.get(queueUrl);
    if (!waiting) return;
    clearTimeout(waiting.timer);
    this.#waiting.delete(queueUrl);
    const sending = this.#sqs
      .send(
        new DeleteMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: waiting.handles.map((ReceiptHandle, i) => ({ Id: String(i), ReceiptHandle })),
        }),
      )
      .then(
        (out) => {
          for (const failed of out.Failed ?? [])
            this.#options.onError(
              new Error(
                `DeleteMessageBatch entry ${failed.Id} failed: ${failed.Code} ${failed.Message ?? ""}`,
              ),
            );
        },
        (error: unknown) => this.#options.onError(error),
      )
      .finally(() => this.#sending.delete(sending));
    this.#sending.add(sending);
  }
}
