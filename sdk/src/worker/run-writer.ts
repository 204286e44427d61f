/**
 * The worker's side of one attempt's writes: lease renewals, buffered log lines, output
 * items and progress, and the final transition, serialized through one queue so they
 * never race each other. When another writer (cancel, the sweep, a pipeline's input
 * pump) got there first, a conditional write fails; the writer then re-reads, and if the
 * run is no longer this attempt's it reports the lease lost.
 *
 * Buffering bounds cost (invariant 4): log lines and output items are written several
 * per event and several events per transaction, in the order they were produced.
 * Output items are flushed within `outputDelayMs` of the first one buffered (so
 * consumers see them while the producer still runs); log lines and progress within the
 * worker's flush interval; everything before the terminal transition.
 */
import type { LogLine, RunEventBody } from "../domain/run-event.js";
import type { Transition } from "../domain/transitions.js";
import type { RunItem } from "../store/run-item.js";
import type { RunStore } from "../store/run-store.js";

/** Most log lines kept on the run item (`recentLogs`). */
export const recentLogLimit = 20;
/** Most entries (lines or items) in one event. */
const entriesPerEvent = 100;
/** Most characters of log text or item JSON in one event (DynamoDB items are capped at 400 KB). */
const charsPerEvent = 64 * 1024;
/** Most buffered events written in one transaction (TransactWriteItems takes 100 items, 4 MB). */
const eventsPerTransaction = 48;
/** Longest log line kept, in characters; longer lines are cut with a marker. */
export const maxLogLineLength = 8 * 1024;

/** Why the writer stopped owning the run. */
export type LostReason = { readonly status: RunItem["status"]; readonly cancelReason?: string };

/** A buffered entry: a log line, or an output item (as its JSON text). */
type Entry =
  | { readonly kind: "log"; readonly line: LogLine }
  | { readonly kind: "output"; readonly json: string };

const entrySize = (e: Entry) => (e.kind === "log" ? e.line.message.length : e.json.length);

export class RunWriter {
  #run: RunItem;
  readonly #store: RunStore;
  readonly #attempt: number;
  readonly #outputDelayMs: number;
  #chain: Promise<unknown> = Promise.resolve();
  #entries: Entry[] = [];
  #progress: number | undefined;
  #lost: LostReason | undefined;
  #outputTimer: NodeJS.Timeout | undefined;
  #queuedFlush: Promise<void> | undefined;

  constructor(store: RunStore, run: RunItem, outputDelayMs = 50) {
    this.#store = store;
    this.#run = run;
    this.#attempt = run.attempt;
    this.#outputDelayMs = outputDelayMs;
  }

  /** Set once the run is no longer held by this attempt (canceled, or recovered by the sweep). */
  get lost(): LostReason | undefined {
    return this.#lost;
  }

  /** Buffers a log line. */
  log(line: LogLine): void {
    const message =
      line.message.length > maxLogLineLength
        ? `${line.message.slice(0, maxLogLineLength)}…[truncated]`
        : line.message;
    this.#entries.push({ kind: "log", line: { ...line, message } });
  }

  /** Buffers an output item, given as its JSON text; it is written within `outputDelayMs`. */
  output(json: string): void {
    this.#entries.push({ kind: "output", json });
    this.#outputTimer ??= setTimeout(() => {
      this.#outputTimer = undefined;
      void this.flush().catch(() => undefined);
    }, this.#outputDelayMs);
  }

  /** Buffers a progress value (latest wins). */
  progress(value: number): void {
    this.#progress = value;
  }

  /**
   * Writes what is buffered when the flush starts (entries added meanwhile wait for the
   * next one, so a busy producer leaves other writers gaps). Flushes requested while one
   * is waiting to start share it.
   */
  flush(): Promise<void> {
    this.#queuedFlush ??= this.#enqueue(() => {
      this.#queuedFlush = undefined;
      let remaining = this.#entries.length;
      let progress = this.#progress !== undefined;
      return this.#flushWhile(
        () => remaining > 0 || progress,
        (written) => {
          remaining -= written;
          progress = false;
        },
      );
    });
    return this.#queuedFlush;
  }

  /**
   * Extends the lease to `leaseExpiresMs`. Not queued behind buffered writes: a renewal
   * is conditional on status and attempt only, so it cannot conflict with them, and a
   * busy stream of output must not delay it past the lease.
   */
  async renewLease(leaseExpiresMs: number): Promise<void> {
    if (this.#lost) return;
    if (await this.#store.renewLease(this.#run, leaseExpiresMs)) {
      this.#run = { ...this.#run, leaseExpiresMs: Math.max(leaseExpiresMs, this.#run.leaseExpiresMs ?? 0) };
      return;
    }
    await this.#reread();
  }

  /**
   * Commits the attempt's final transition (decided on the run as it then is) together
   * with whatever is still buffered. `extraEvents` go between the buffered events and
   * the transition's own (an `outputComplete`, say). Returns the stored run, or
   * `undefined` if the attempt no longer holds the run.
   */
  finish(
    decide: (run: RunItem) => Transition | undefined,
    extraEvents: readonly RunEventBody[] = [],
  ): Promise<RunItem | undefined> {
    clearTimeout(this.#outputTimer);
    return this.#enqueue(async () => {
      await this.#flushWhile(() => this.#chunks().length >= eventsPerTransaction);
      if (this.#lost) return undefined;
      const chunks = this.#chunks();
      return this.#commit((run) => {
        const transition = decide(this.#withBuffered(run, chunks));
        if (!transition) return undefined;
        return {
          next: transition.next,
          events: [...this.#events(chunks), ...extraEvents, ...transition.events],
        };
      });
    });
  }

  #enqueue<T>(op: () => Promise<T>): Promise<T> {
    const result = this.#chain.then(() => (this.#lost ? undefined : op())) as Promise<T>;
    this.#chain = result.catch(() => undefined);
    return result;
  }

  /** Commits buffered entries and progress, a transaction's worth at a time, while `more()` holds. */
  async #flushWhile(more: () => boolean, wrote: (entries: number) => void = () => undefined): Promise<void> {
    while (more() && !this.#lost) {
      const chunks = this.#chunks().slice(0, eventsPerTransaction);
      const stored = await this.#commit((run) => ({
        next: this.#withBuffered(run, chunks),
        events: this.#events(chunks),
      }));
      if (!stored) return;
      const done = new Set(chunks.flat());
      const written = done.size;
      this.#entries = this.#entries.filter((e) => !done.has(e));
      this.#progress = undefined;
      wrote(written);
    }
  }

  async #commit(decide: (run: RunItem) => Transition | undefined): Promise<RunItem | undefined> {
    for (;;) {
      const transition = decide(this.#run);
      if (!transition) return undefined;
      const outcome = await this.#store.transition(this.#run, transition.next, transition.events);
      if ("stored" in outcome) {
        // A renewal may have landed meanwhile: keep the later lease.
        const leaseExpiresMs = Math.max(outcome.stored.leaseExpiresMs ?? 0, this.#run.leaseExpiresMs ?? 0);
        this.#run =
          outcome.stored.status === "Running" ? { ...outcome.stored, leaseExpiresMs } : outcome.stored;
        return outcome.stored;
      }
      if (!this.#adopt(outcome.current)) return undefined;
    }
  }

  /** Re-reads the run; returns false (and records why) when this attempt no longer holds it. */
  async #reread(): Promise<boolean> {
    return this.#adopt(await this.#store.get(this.#run.runId));
  }

  /** Takes `run` as the current state; returns false (and records why) when this attempt no longer holds it. */
  #adopt(run: RunItem | undefined): boolean {
    if (!run || run.status !== "Running" || run.attempt !== this.#attempt) {
      this.#lost = {
        status: run?.status ?? "Canceled",
        ...(run?.cancelReason ? { cancelReason: run.cancelReason } : {}),
      };
      return false;
    }
    this.#run = run;
    return true;
  }

  #withBuffered(run: RunItem, chunks: readonly Entry[][]): RunItem {
    const lines = chunks.flat().flatMap((e) => (e.kind === "log" ? [formatLine(e.line)] : []));
    const recentLogs = [...(run.recentLogs ?? []), ...lines].slice(-recentLogLimit);
    return { ...run, recentLogs, ...(this.#progress !== undefined ? { progress: this.#progress } : {}) };
  }

  /**
   * The buffered entries cut into event-sized chunks: log lines and output items apart
   * (each kind keeps its order; the two are separate streams), each chunk bounded by
   * count and characters.
   */
  #chunks(): Entry[][] {
    const chunks: Entry[][] = [];
    for (const kind of ["output", "log"] as const) {
      let chunk: Entry[] = [];
      let chars = 0;
      for (const entry of this.#entries) {
        if (entry.kind !== kind) continue;
        if (
          chunk.length >= entriesPerEvent ||
          (chunk.length > 0 && chars + entrySize(entry) > charsPerEvent)
        ) {
          chunks.push(chunk);
          chunk = [];
          chars = 0;
        }
        chunk.push(entry);
        chars += entrySize(entry);
      }
      if (chunk.length > 0) chunks.push(chunk);
    }
    return chunks;
  }

  #events(chunks: readonly Entry[][]): RunEventBody[] {
    const events: RunEventBody[] = chunks.map((chunk) =>
      chunk[0]?.kind === "output"
        ? { type: "output", items: chunk.map((e) => JSON.parse((e as { json: string }).json)) }
        : { type: "log", lines: chunk.map((e) => (e as { line: LogLine }).line) },
    );
    if (this.#progress !== undefined) events.push({ type: "progress", progress: this.#progress });
    return events;
  }
}

function formatLine(line: LogLine): string {
  return `${line.at} ${line.level.toUpperCase()} ${line.message}`;
}
