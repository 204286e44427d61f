/**
 * A long-lived worker that polls the lanes itself: for containers, servers and the
 * local stack. (On Lambda, the event source mapping polls instead; see `lambda/`.)
 *
 * Receiving: with a backlog, each round asks the lanes highest band first (no wait) and
 * fills the free slots from the first that has messages, so higher-priority runs are
 * claimed first. When every lane is empty, one long poll (`WaitTimeSeconds`) per lane
 * waits at once, so a new run is picked up as soon as its message lands, with no idle
 * backoff to wait out; a poll that brings more messages than there are free slots
 * releases the rest at once (visibility 0).
 *
 * Leases: the message stays in flight while its run executes. Every `leaseMs / 3`, while
 * it holds runs, the worker writes its heartbeat item (one write per worker, however
 * many runs it holds: a run shorter than that costs none) and extends the visibility of
 * its messages to `leaseMs`; a worker that dies stops both, its messages come back within
 * `leaseMs`, and whoever receives them finds its heartbeat stale and recovers the runs.
 * (A message received is hidden for the lane's visibility timeout, longer than
 * `leaseMs / 3`, so it cannot come back before the first heartbeat.)
 *
 * Self-fencing: a worker that has not written its heartbeat for `leaseMs` less a margin
 * (throttled, or its process frozen) can no longer prove it holds its runs: their
 * handlers' signals abort (`LeaseLostError`), checked whenever a handler looks at its
 * signal. A heartbeat that lands after such a gap does not revive those attempts (their
 * runs may be recovered elsewhere already); it only covers runs claimed afterwards.
 * Renewals never overlap: a beat still in flight when the next is due skips it.
 *
 * Slots: a handler given up (timeout, cancel, lease, stop) keeps its slot until it
 * settles. One still running 5 s after its signal aborted is reported
 * (`HandlerIgnoredAbortError`, counted in `core.ignoredAborts`); when such handlers hold
 * every slot the worker claims nothing more, reports `WorkerUnhealthyError` and
 * `healthy` turns false (`runContainerWorker` then exits non-zero).
 *
 * Stopping: `stop()` takes no new messages, gives running handlers `shutdownGraceMs`,
 * then aborts their signals (`WorkerStoppingError`) and hands their runs back to Pending
 * without counting a failed attempt, sending each a new wake-up.
 */
import {
  ChangeMessageVisibilityBatchCommand,
  ChangeMessageVisibilityCommand,
  type Message,
  ReceiveMessageCommand,
} from "@aws-sdk/client-sqs";
import { onAbort } from "../client/abort-listeners.js";
import { abortableSleep } from "../client/abortable-sleep.js";
import { WorkerStoppingError, WorkerUnhealthyError } from "../errors.js";
import { DeleteBatcher } from "../queue/delete-batcher.js";
import { type Lane, parseRunMessage } from "../queue/dispatcher.js";
import { abandonedAfterMs, WorkerCore, type WorkerCoreOptions } from "./worker-core.js";

export interface PollingWorkerOptions extends WorkerCoreOptions {
  /** Runs executed at once by this worker. @default 4 */
  readonly concurrency?: number;
  /** Long-poll wait of each receive, in seconds (SQS allows 0–20). @default 20 */
  readonly waitTimeSeconds?: number;
  /**
   * On `stop()`, how long running handlers may go on before their signals abort and
   * their runs are handed back to Pending (no failed attempt counted), in ms. @default 10000
   */
  readonly shutdownGraceMs?: number;
  /**
   * Called with errors of the poll loop and of message handling (the message is
   * redelivered), with `HandlerIgnoredAbortError` and with `WorkerUnhealthyError`.
   * @default console.error
   */
  readonly onError?: (error: unknown) => void;
  /** Called once when handlers that ignored their aborted signal hold every slot. */
  readonly onUnhealthy?: (error: WorkerUnhealthyError) => void;
}

/** A message this worker holds: its lane and receipt handle. */
interface Held {
  readonly lane: Lane;
  readonly receiptHandle: string;
}

/** How long a lane a receive round found empty is skipped by later rounds, in ms. */
const emptyLaneSkipMs = 100;
/** Longest pause after failed receives in a row, in ms (the first pause is 200 ms, jittered). */
const receiveErrorMaxPauseMs = 10_000;

/**
 * Time kept back from the lease before a worker that has not renewed its heartbeat
 * fences its handlers, in ms: 2 s, or a tenth of a short lease (beats come every third of
 * it, so a healthy worker is well inside it, even with a slow beat skipped).
 */
const fenceMarginMs = (leaseMs: number) => Math.min(2000, leaseMs / 10);

export class PollingWorker {
  readonly core: WorkerCore;
  readonly #options: PollingWorkerOptions;
  readonly #active = new Set<Promise<void>>();
  readonly #held = new Map<string, Held>();
  /** A receive round is running: a long poll answered meanwhile hands its messages back. */
  #roundBusy = false;
  /** Lanes a round found empty, until when they are skipped (epoch ms). */
  readonly #emptyUntil = new Map<Lane, number>();
  /** Deletes of finished messages, sent in batches. */
  readonly #deletes: DeleteBatcher;
  readonly #stopController = new AbortController();
  /** Bumped when a gap between heartbeats exceeded the lease: attempts claimed before it stay fenced. */
  #leaseEpoch = 0;
  #beating = false;
  #unhealthy = false;
  #stopping = false;
  #loop: Promise<void> | undefined;
  #heartbeat: NodeJS.Timeout | undefined;
  #lastBeatMs: number;
  readonly #idle = new AbortController();
  #wakeSlot: () => void = () => undefined;

  constructor(options: PollingWorkerOptions) {
    this.#options = options;
    this.core = new WorkerCore({
      ...options,
      onHandlerIgnoredAbort: (error) => {
        (options.onHandlerIgnoredAbort ?? ((e) => this.#reportError(e)))(error);
        this.#checkHealth();
      },
    });
    this.#deletes = new DeleteBatcher(options.dispatcher.sqs, {
      onError: (error) => this.#reportError(error),
    });
    this.#lastBeatMs = this.#now();
  }

  get workerId(): string {
    return this.core.workerId;
  }

  /** Number of messages being handled now (slots taken, abandoned handlers included). */
  get activeCount(): number {
    return this.#active.size;
  }

  /** False once handlers that ignored their aborted signal hold every slot (the worker claims nothing more). */
  get healthy(): boolean {
    return !this.#unhealthy;
  }

  /** Starts polling. */
  start(): this {
    if (this.#loop) return this;
    this.#loop = this.#run();
    const every = Math.max(100, Math.floor(this.core.leaseMs / 3));
    this.#heartbeat = setInterval(() => void this.#beat(), every);
    return this;
  }

  /**
   * Stops taking messages, lets running handlers finish for `shutdownGraceMs`, then
   * aborts the rest and hands their runs back (see the module comment). Resolves when
   * every handler has settled, or {@link abandonedAfterMs} after the abort for handlers
   * that ignore their signal (their runs are handed back all the same).
   */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#idle.abort();
    this.#wakeSlot();
    await this.#loop;
    await settledWithin(this.#active, this.#options.shutdownGraceMs ?? 10_000);
    this.#stopController.abort(new WorkerStoppingError());
    await settledWithin(this.#active, abandonedAfterMs);
    await this.#deletes.flush();
    clearInterval(this.#heartbeat);
  }

  #now(): number {
    return (this.#options.now ?? Date.now)();
  }

  #free(): number {
    return (this.#options.concurrency ?? 4) - this.#active.size;
  }

  /** The receive loop (see the module comment). */
  async #run(): Promise<void> {
    const lanes = this.#options.dispatcher.lanes;
    const longPolls = new Map<Lane, Promise<{ lane: Lane; messages: Message[] }>>();
    const stopped = new Promise<undefined>((resolve) =>
      this.#idle.signal.addEventListener("abort", () => resolve(undefined), { once: true }),
    );
    // Whether the lanes may hold more than the long polls bring: at start, and after a
    // poll or a slot freed up. An idle worker only waits on its long polls (3 receives per
    // `waitTimeSeconds`), with no rounds in between.
    let backlog = true;
    // Receive errors in a row: the pause after one doubles up to 10 s, so a lane service
    // that is gone is asked (and reported) a few times a minute, not five times a second.
    let failures = 0;
    while (!this.#stopping) {
      if (this.#free() <= 0) {
        await new Promise<void>((resolve) => {
          this.#wakeSlot = resolve;
        });
        backlog = true;
        continue;
      }
      try {
        if (backlog) {
          this.#roundBusy = true;
          const got = await this.#receiveRound(lanes).finally(() => {
            this.#roundBusy = false;
          });
          if (got) continue;
        }
        for (const lane of lanes) {
          if (!longPolls.has(lane)) {
            longPolls.set(
              lane,
              this.#receive(lane, this.#options.waitTimeSeconds ?? 20).then(async (messages) => {
                // Answered while this worker is busy with other messages: hand these back at
                // once (visibility 0) rather than keep them hidden until the loop looks.
                if (messages.length > 0 && (this.#stopping || this.#free() <= 0 || this.#roundBusy)) {
                  await Promise.all(messages.map((m) => this.#release(lane, m)));
                  return { lane, messages: [] };
                }
                return { lane, messages };
              }),
            );
          }
        }
        const answer = await Promise.race([...longPolls.values(), stopped]);
        if (!answer) return;
        longPolls.delete(answer.lane);
        backlog = answer.messages.length > 0;
        failures = 0;
        await this.#take(answer.lane, answer.messages);
      } catch (error) {
        if (this.#stopping) return;
        longPolls.clear();
        this.#reportError(error);
        const pauseMs = Math.min(receiveErrorMaxPauseMs, 200 * 2 ** failures++);
        // `stop()` cuts the pause short: a worker stopped during an outage exits at once.
        await abortableSleep(pauseMs / 2 + (Math.random() * pauseMs) / 2, this.#idle.signal).catch(
          () => undefined,
        );
      }
    }
  }

  /**
   * Asks the lanes highest band first, without waiting; takes from the first that has
   * messages. A lane found empty is skipped for {@link emptyLaneSkipMs} (its long poll, or
   * the next round, sees what arrives), so a backlog in one lane does not cost an empty
   * receive of every higher lane per batch.
   */
  async #receiveRound(lanes: readonly Lane[]): Promise<boolean> {
    for (const lane of lanes) {
      if ((this.#emptyUntil.get(lane) ?? 0) > this.#now()) continue;
      const messages = await this.#receive(lane, 0);
      if (messages.length === 0) {
        this.#emptyUntil.set(lane, this.#now() + emptyLaneSkipMs);
        continue;
      }
      await this.#take(lane, messages);
      return true;
    }
    return false;
  }

  async #receive(lane: Lane, waitTimeSeconds: number): Promise<Message[]> {
    // A signal of its own per request, linked to the worker's: the SDK's HTTP handler adds
    // an abort listener to the signal it is given, so thousands of receives on one
    // long-lived signal would pile up listeners (and a MaxListenersExceededWarning).
    const request = new AbortController();
    const unlink = onAbort(this.#idle.signal, () => request.abort());
    try {
      const out = await this.#options.dispatcher.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: lane.queueUrl,
          MaxNumberOfMessages: Math.max(1, Math.min(10, this.#free())),
          WaitTimeSeconds: waitTimeSeconds,
        }),
        { abortSignal: request.signal },
      );
      return out.Messages ?? [];
    } finally {
      unlink();
    }
  }

  /** Starts handling each message while slots are free; hands the rest back. */
  async #take(lane: Lane, messages: readonly Message[]): Promise<void> {
    for (const message of messages) {
      if (this.#stopping || this.#free() <= 0) await this.#release(lane, message);
      else this.#track(this.#handle(lane, message));
    }
  }

  /** Hands a message back to its lane at once (visibility 0). */
  async #release(lane: Lane, message: Message): Promise<void> {
    await this.#options.dispatcher.sqs
      .send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: lane.queueUrl,
          ReceiptHandle: message.ReceiptHandle,
          VisibilityTimeout: 0,
        }),
      )
      .catch((error) => this.#reportError(error));
  }

  #track(work: Promise<void>): void {
    const tracked = work
      .catch((error) => this.#reportError(error))
      .finally(() => {
        this.#active.delete(tracked);
        this.#wakeSlot();
      });
    this.#active.add(tracked);
  }

  async #handle(lane: Lane, message: Message): Promise<void> {
    const sqs = this.#options.dispatcher.sqs;
    const receiptHandle = message.ReceiptHandle as string;
    const runMessage = parseRunMessage(message.Body);
    const epoch = this.#leaseEpoch;
    const leaseValidUntilMs = () =>
      epoch === this.#leaseEpoch
        ? this.#lastBeatMs + this.core.leaseMs - fenceMarginMs(this.core.leaseMs)
        : Number.NEGATIVE_INFINITY;
    let runId: string | undefined;
    try {
      let disposition: Awaited<ReturnType<WorkerCore["process"]>>;
      try {
        disposition = runMessage
          ? await this.core.process(runMessage, {
              onClaimed: async (run) => {
                runId = run.runId;
                this.#held.set(run.runId, { lane, receiptHandle });
              },
              stopSignal: this.#stopController.signal,
              leaseValidUntilMs,
            })
          : { action: "delete" };
      } catch (error) {
        // An infrastructure error (a throttled claim, say): the message comes back in a
        // second, not after the lane's visibility timeout.
        await sqs
          .send(
            new ChangeMessageVisibilityCommand({
              QueueUrl: lane.queueUrl,
              ReceiptHandle: receiptHandle,
              VisibilityTimeout: 1,
            }),
          )
          .catch(() => undefined);
        throw error;
      }
      if (disposition.action === "delete") {
        // The run is settled: the delete follows (stop() flushes it); the slot frees once
        // the handler itself has stopped.
        if (runId !== undefined) this.#held.delete(runId);
        this.#deletes.delete(lane.queueUrl, receiptHandle);
        await disposition.handlerSettled;
        return;
      }
      await sqs.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: lane.queueUrl,
          ReceiptHandle: receiptHandle,
          VisibilityTimeout: disposition.delaySeconds,
        }),
      );
    } finally {
      if (runId !== undefined) this.#held.delete(runId);
    }
  }

  /**
   * The heartbeat, while this worker holds runs: its heartbeat item, then the visibility
   * of every held message. A worker that has not written its heartbeat for nearly a lease
   * aborts its handlers.
   */
  async #beat(): Promise<void> {
    if (this.#beating) return;
    const leaseMs = this.core.leaseMs;
    // A gap longer than the lease (throttled beats, a frozen process): the runs held
    // across it may be recovered elsewhere, so their attempts stay fenced for good.
    if (this.#now() - this.#lastBeatMs > leaseMs - fenceMarginMs(leaseMs)) this.#leaseEpoch++;
    if (this.#held.size === 0) {
      this.#lastBeatMs = this.#now();
      return;
    }
    this.#beating = true;
    const now = this.#now();
    // Independent: a message whose visibility is extended stays hidden even while the
    // heartbeat write is throttled, and the other way round.
    const [beat, extended] = await Promise.allSettled([
      this.#options.store.putHeartbeat(this.workerId, now, Math.ceil((leaseMs * 2) / 1000)),
      this.#extendVisibility(Math.ceil(leaseMs / 1000)),
    ]);
    this.#beating = false;
    if (beat.status === "fulfilled") this.#lastBeatMs = now;
    // Unknown, not lost: the next beat tries again; past the lease the handlers fence themselves.
    else this.#reportError(beat.reason);
    if (extended.status === "rejected") this.#reportError(extended.reason);
  }

  /** Reports the worker unhealthy once abandoned handlers hold every slot. */
  #checkHealth(): void {
    const concurrency = this.#options.concurrency ?? 4;
    if (this.#unhealthy || this.core.abandonedCount < concurrency) return;
    this.#unhealthy = true;
    const error = new WorkerUnhealthyError(this.workerId, this.core.abandonedCount);
    this.#reportError(error);
    this.#options.onUnhealthy?.(error);
  }

  async #extendVisibility(seconds: number): Promise<void> {
    const byLane = new Map<Lane, string[]>();
    for (const held of this.#held.values())
      byLane.set(held.lane, [...(byLane.get(held.lane) ?? []), held.receiptHandle]);
    await Promise.all(
      [...byLane].map(async ([lane, handles]) => {
        for (let i = 0; i < handles.length; i += 10) {
          await this.#options.dispatcher.sqs.send(
            new ChangeMessageVisibilityBatchCommand({
              QueueUrl: lane.queueUrl,
              Entries: handles.slice(i, i + 10).map((ReceiptHandle, j) => ({
                Id: String(j),
                ReceiptHandle,
                VisibilityTimeout: seconds,
              })),
            }),
          );
        }
      }),
    );
  }

  #reportError(error: unknown): void {
    (this.#options.onError ?? ((e) => console.error("worker error:", e)))(error);
  }
}

/** Resolves when every promise of `work` has settled, or after `ms`, whichever is first. */
async function settledWithin(work: ReadonlySet<Promise<void>>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const elapsed = new Promise((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  await Promise.race([Promise.allSettled(work), elapsed]);
  clearTimeout(timer);
}
