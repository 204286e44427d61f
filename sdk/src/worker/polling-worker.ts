/**
 * A long-lived worker that polls the lanes itself: for containers, servers and the
 * local stack. (On Lambda, the event source mapping polls instead; see `lambda/`.)
 *
 * Each free slot asks the lanes highest band first and takes from the first that has
 * messages, so with a backlog higher-priority runs are claimed first. When every lane
 * is empty it backs off from 50 ms up to `maxIdleMs` between rounds of receives.
 * A message is deleted as soon as its claim commits: from then on the run's lease, not
 * the message, keeps it from being lost.
 */
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  type Message,
  ReceiveMessageCommand,
} from "@aws-sdk/client-sqs";
import { abortableSleep } from "../client/abortable-sleep.js";
import { type Lane, parseRunMessage } from "../queue/dispatcher.js";
import { WorkerCore, type WorkerCoreOptions } from "./worker-core.js";

export interface PollingWorkerOptions extends WorkerCoreOptions {
  /** Runs executed at once by this worker. @default 4 */
  readonly concurrency?: number;
  /** Longest pause between receives while every lane is empty, in ms. @default 1000 */
  readonly maxIdleMs?: number;
  /**
   * On `stop()`, how long running handlers may go on before their signals abort and
   * their attempts are recorded as failed (retry policy applies), in ms. @default 10000
   */
  readonly shutdownGraceMs?: number;
  /** Called with errors of the poll loop and of message handling (the message is redelivered). @default console.error */
  readonly onError?: (error: unknown) => void;
}

export class PollingWorker {
  readonly core: WorkerCore;
  readonly #options: PollingWorkerOptions;
  readonly #active = new Set<Promise<void>>();
  readonly #stopController = new AbortController();
  #stopping = false;
  #loop: Promise<void> | undefined;
  #idle = new AbortController();
  readonly #stopRequested = new Promise<void>((resolve) =>
    this.#idle.signal.addEventListener("abort", () => resolve(), { once: true }),
  );

  constructor(options: PollingWorkerOptions) {
    this.#options = options;
    this.core = new WorkerCore(options);
  }

  get workerId(): string {
    return this.core.workerId;
  }

  /** Number of messages being handled now. */
  get activeCount(): number {
    return this.#active.size;
  }

  /** Starts polling. */
  start(): this {
    this.#loop ??= this.#run();
    return this;
  }

  /**
   * Stops taking messages, lets running handlers finish for `shutdownGraceMs`, then
   * aborts the rest (recorded as failed attempts) and resolves when all are settled.
   */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#idle.abort();
    await this.#loop;
    const grace = new Promise((resolve) =>
      setTimeout(resolve, this.#options.shutdownGraceMs ?? 10_000).unref(),
    );
    await Promise.race([Promise.allSettled(this.#active), grace]);
    this.#stopController.abort();
    await Promise.allSettled(this.#active);
  }

  async #run(): Promise<void> {
    const concurrency = this.#options.concurrency ?? 4;
    const maxIdleMs = this.#options.maxIdleMs ?? 1000;
    let idleMs = 50;
    while (!this.#stopping) {
      const free = concurrency - this.#active.size;
      if (free <= 0) {
        // Wake on a free slot, or on stop() (which must not wait for a busy slot to free).
        await Promise.race([...this.#active, this.#stopRequested]);
        continue;
      }
      try {
        if (await this.#receiveOnce(free)) {
          idleMs = 50;
          continue;
        }
      } catch (error) {
        this.#reportError(error);
      }
      await abortableSleep(idleMs, this.#idle.signal).catch(() => undefined);
      idleMs = Math.min(maxIdleMs, idleMs * 2);
    }
  }

  /** Receives from the highest lane that has messages; returns whether any arrived. */
  async #receiveOnce(free: number): Promise<boolean> {
    for (const lane of this.#options.dispatcher.lanes) {
      const out = await this.#options.dispatcher.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: lane.queueUrl,
          MaxNumberOfMessages: Math.min(10, free),
          WaitTimeSeconds: 0,
        }),
      );
      const messages = out.Messages ?? [];
      if (messages.length === 0) continue;
      for (const message of messages) this.#track(this.#handle(lane, message));
      return true;
    }
    return false;
  }

  #track(work: Promise<void>): void {
    const tracked = work
      .catch((error) => this.#reportError(error))
      .finally(() => this.#active.delete(tracked));
    this.#active.add(tracked);
  }

  async #handle(lane: Lane, message: Message): Promise<void> {
    const sqs = this.#options.dispatcher.sqs;
    const receiptHandle = message.ReceiptHandle;
    let deleted = false;
    const deleteMessage = async () => {
      if (deleted) return;
      deleted = true;
      await sqs.send(new DeleteMessageCommand({ QueueUrl: lane.queueUrl, ReceiptHandle: receiptHandle }));
    };
    const runMessage = parseRunMessage(message.Body);
    if (!runMessage) return deleteMessage();
    const disposition = await this.core.process(runMessage, {
      onClaimed: () => deleteMessage().catch((error) => this.#reportError(error)),
      stopSignal: this.#stopController.signal,
    });
    if (disposition.action === "delete") return deleteMessage();
    await sqs.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: lane.queueUrl,
        ReceiptHandle: receiptHandle,
        VisibilityTimeout: disposition.delaySeconds,
      }),
    );
  }

  #reportError(error: unknown): void {
    (this.#options.onError ?? ((e) => console.error("worker error:", e)))(error);
  }
}
