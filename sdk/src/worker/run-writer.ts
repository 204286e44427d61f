/**
 * The worker's side of one attempt's writes: lease renewals, buffered log lines and
 * progress, and the final transition, serialized through one queue so they never race
 * each other. Other writers (cancel, the sweep) bump the run's version; the writer then
 * re-reads, and if the run is no longer this attempt's it reports the lease lost.
 */
import type { LogLine } from "../domain/run-event.js";
import type { RunEventBody } from "../domain/run-event.js";
import type { Transition } from "../domain/transitions.js";
import type { RunItem } from "../store/run-item.js";
import type { RunStore, VersionedRunItem } from "../store/run-store.js";

/** Most log lines kept on the run item (`recentLogs`). */
export const recentLogLimit = 20;
/** Most log lines in one `log` event. */
const linesPerEvent = 100;
/** Most characters of log text in one `log` event (DynamoDB items are capped at 400 KB). */
const charsPerEvent = 32 * 1024;
/** Most buffered events written in one transaction (TransactWriteItems takes 100 items, 4 MB). */
const eventsPerTransaction = 48;
/** Longest log line kept, in characters; longer lines are cut with a marker. */
export const maxLogLineLength = 8 * 1024;

/** Why the writer stopped owning the run. */
export type LostReason = { readonly status: RunItem["status"]; readonly cancelReason?: string };

export class RunWriter {
  #run: VersionedRunItem;
  readonly #store: RunStore;
  readonly #attempt: number;
  #chain: Promise<unknown> = Promise.resolve();
  #lines: LogLine[] = [];
  #progress: number | undefined;
  #lost: LostReason | undefined;

  constructor(store: RunStore, run: VersionedRunItem) {
    this.#store = store;
    this.#run = run;
    this.#attempt = run.attempt;
  }

  /** Set once the run is no longer held by this attempt (canceled, or recovered by the sweep). */
  get lost(): LostReason | undefined {
    return this.#lost;
  }

  /** Buffers a log line. */
  log(line: LogLine): void {
    const message =
      line.message.length > maxLogLineLength ? `${line.message.slice(0, maxLogLineLength)}…[truncated]` : line.message;
    this.#lines.push({ ...line, message });
  }

  /** Buffers a progress value (latest wins). */
  progress(value: number): void {
    this.#progress = value;
  }

  /** Writes buffered lines and progress, if any. */
  flush(): Promise<void> {
    return this.#enqueue(async () => {
      await this.#flushWhile(() => this.#lines.length > 0 || this.#progress !== undefined);
    });
  }

  /** Extends the lease to `leaseExpiresMs`. */
  renewLease(leaseExpiresMs: number): Promise<void> {
    return this.#enqueue(async () => {
      for (;;) {
        const renewed = await this.#store.renewLease(this.#run, leaseExpiresMs);
        if (renewed) {
          this.#run = renewed;
          return;
        }
        if (!(await this.#reread())) return;
      }
    });
  }

  /**
   * Commits the attempt's final transition (decided on the run as it then is) together
   * with whatever is still buffered. Returns the stored run, or `undefined` if the
   * attempt no longer holds the run.
   */
  finish(decide: (run: RunItem) => Transition | undefined): Promise<VersionedRunItem | undefined> {
    return this.#enqueue(async () => {
      await this.#flushWhile(() => this.#chunks().length >= eventsPerTransaction);
      if (this.#lost) return undefined;
      const chunks = this.#chunks();
      return this.#commit((run) => {
        const transition = decide(this.#withBuffered(run, chunks.flat()));
        if (!transition) return undefined;
        return { next: transition.next, events: [...this.#events(chunks), ...transition.events] };
      });
    });
  }

  /** Commits buffered lines and progress, a transaction's worth at a time, while `more()` holds. */
  async #flushWhile(more: () => boolean): Promise<void> {
    while (more() && !this.#lost) {
      const chunks = this.#chunks().slice(0, eventsPerTransaction);
      const lines = chunks.flat();
      const stored = await this.#commit((run) => ({
        next: this.#withBuffered(run, lines),
        events: this.#events(chunks),
      }));
      if (!stored) return;
      this.#lines = this.#lines.slice(lines.length);
      this.#progress = undefined;
    }
  }

  #enqueue<T>(op: () => Promise<T>): Promise<T> {
    const result = this.#chain.then(() => (this.#lost ? undefined : op())) as Promise<T>;
    this.#chain = result.catch(() => undefined);
    return result;
  }

  async #commit(decide: (run: RunItem) => Transition | undefined): Promise<VersionedRunItem | undefined> {
    for (;;) {
      const transition = decide(this.#run);
      if (!transition) return undefined;
      const stored = await this.#store.transition(this.#run, transition.next, transition.events);
      if (stored) {
        this.#run = stored;
        return stored;
      }
      if (!(await this.#reread())) return undefined;
    }
  }

  /** Re-reads the run; returns false (and records why) when this attempt no longer holds it. */
  async #reread(): Promise<boolean> {
    const run = await this.#store.get(this.#run.runId);
    if (!run || run.status !== "Running" || run.attempt !== this.#attempt) {
      this.#lost = { status: run?.status ?? "Canceled", ...(run?.cancelReason ? { cancelReason: run.cancelReason } : {}) };
      return false;
    }
    this.#run = run;
    return true;
  }

  #withBuffered(run: RunItem, lines: readonly LogLine[]): RunItem {
    const recentLogs = [...(run.recentLogs ?? []), ...lines.map(formatLine)].slice(-recentLogLimit);
    return { ...run, recentLogs, ...(this.#progress !== undefined ? { progress: this.#progress } : {}) };
  }

  /** The buffered lines cut into event-sized chunks (by count and by characters). */
  #chunks(): LogLine[][] {
    const chunks: LogLine[][] = [];
    let chunk: LogLine[] = [];
    let chars = 0;
    for (const line of this.#lines) {
      if (chunk.length > 0 && (chunk.length >= linesPerEvent || chars + line.message.length > charsPerEvent)) {
        chunks.push(chunk);
        chunk = [];
        chars = 0;
      }
      chunk.push(line);
      chars += line.message.length;
    }
    if (chunk.length > 0) chunks.push(chunk);
    return chunks;
  }

  #events(chunks: readonly LogLine[][]): RunEventBody[] {
    const events: RunEventBody[] = chunks.map((lines) => ({ type: "log", lines }));
    if (this.#progress !== undefined) events.push({ type: "progress", progress: this.#progress });
    return events;
  }
}

function formatLine(line: LogLine): string {
  return `${line.at} ${line.level.toUpperCase()} ${line.message}`;
}
