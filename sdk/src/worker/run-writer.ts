/**
 * The worker's side of one attempt's writes: buffered log lines, output items, input
 * records and progress, the holder check, and the final transition, serialized through
 * one queue so they never race each other.
 *
 * The attempt's holder is the one writer of its data events: it numbers them from its
 * `Running` event's id (`startSeq`) on and writes each with a conditional `PutItem`, so
 * no write touches the run item until the attempt ends. An id already taken means
 * another writer (a cancel, a recovery) wrote a status event: the writer then re-reads
 * the run, and if it is no longer this attempt's, reports the run lost.
 *
 * Buffering bounds cost (invariant 4; every write is billed per started KB): output
 * items are written within `outputDelayMs` of the first one buffered (consumers see
 * them while the producer still runs); log lines and progress every `flushMs` (or sooner
 * when a chunk fills); everything before the terminal write.
 */
import type { LogLine, RunEventBody } from "../domain/run-event.js";
import type { Transition } from "../domain/transitions.js";
import { inlinePayloadBytes, type RunItem } from "../store/run-item.js";
import { EventsWriteError, type RunStore } from "../store/run-store.js";
import type { InputChunk } from "../streams/input-log.js";

/** Most entries (lines or items) in one event. */
const entriesPerEvent = 100;
/** Most characters of log text or item JSON in one event (DynamoDB items are capped at 400 KB). */
const charsPerEvent = 64 * 1024;
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
  #nextEventId: number;
  #chain: Promise<unknown> = Promise.resolve();
  #entries: Entry[] = [];
  /** Events taken from the buffer whose write failed (throttled): written first next time. */
  #unwritten: RunEventBody[] = [];
  /** The final events `finish` was given, queued once however often it is retried. */
  #finalEvents: readonly RunEventBody[] | undefined;
  /** Input chunks the handler consumed, as events (written in order with the rest). */
  #inputs: RunEventBody[] = [];
  #progress: number | undefined;
  #lastProgress: number | undefined;
  #logged = false;
  #lost: LostReason | undefined;
  #outputTimer: NodeJS.Timeout | undefined;
  #queuedFlush: Promise<void> | undefined;

  constructor(store: RunStore, run: RunItem, outputDelayMs = 50) {
    this.#store = store;
    this.#run = run;
    this.#attempt = run.attempt;
    this.#outputDelayMs = outputDelayMs;
    this.#nextEventId = (run.startSeq ?? run.seq) + 1;
  }

  /** Set once the run is no longer held by this attempt (canceled, or recovered elsewhere). */
  get lost(): LostReason | undefined {
    return this.#lost;
  }

  /** Buffers a log line. Dropped once the run is lost (a stale handler's logs go nowhere). */
  log(line: LogLine): void {
    if (this.#lost) return;
    const message =
      line.message.length > maxLogLineLength
        ? `${line.message.slice(0, maxLogLineLength)}…[truncated]`
        : line.message;
    this.#entries.push({ kind: "log", line: { ...line, message } });
    this.#logged = true;
  }

  /** Buffers an output item, given as its JSON text; it is written within `outputDelayMs`. */
  output(json: string): void {
    if (this.#lost) return;
    this.#entries.push({ kind: "output", json });
    this.#outputTimer ??= setTimeout(() => {
      this.#outputTimer = undefined;
      void this.flush().catch(() => undefined);
    }, this.#outputDelayMs);
  }

  /** Records an input chunk the handler consumed (as `input`, and `inputComplete` for the last). */
  input(name: string, chunk: InputChunk): void {
    if (this.#lost) return;
    if (chunk.items.length > 0) this.#inputs.push({ type: "input", name, items: chunk.items });
    if (chunk.complete) {
      this.#inputs.push({ type: "inputComplete", name, ...(chunk.error ? { error: chunk.error } : {}) });
    }
  }

  /** Buffers a progress value (latest wins). */
  progress(value: number): void {
    this.#progress = value;
    this.#lastProgress = value;
  }

  /** Writes what is buffered. Flushes requested while one is waiting to start share it. */
  flush(): Promise<void> {
    this.#queuedFlush ??= this.#enqueue(async () => {
      this.#queuedFlush = undefined;
      await this.#write(this.#takeEvents());
    });
    return this.#queuedFlush;
  }

  /**
   * Checks that this attempt still holds the run (one eventually consistent read): a
   * cancel or a recovery by another writer shows here. Returns false (and records why)
   * when it does not.
   */
  async checkHolder(): Promise<boolean> {
    if (this.#lost) return false;
    return this.#adopt(await this.#store.get(this.#run.runId, false));
  }

  /**
   * Commits the attempt's final transition (decided on the run as it then is) after
   * whatever is still buffered. `extraEvents` go between the buffered events and the
   * transition's own (an `outputComplete`, say). A result too large for the run item is
   * written to its own item first. Returns the stored run, or `undefined` if the attempt
   * no longer holds the run.
   */
  finish(
    decide: (run: RunItem) => Transition | undefined,
    extraEvents: readonly RunEventBody[] = [],
  ): Promise<RunItem | undefined> {
    clearTimeout(this.#outputTimer);
    return this.#enqueue(async () => {
      // A retried finish (its write was throttled) must not queue its extra events twice.
      this.#finalEvents ??= extraEvents;
      await this.#write(this.#takeEvents());
      if (this.#lost) return undefined;
      for (;;) {
        const transition = decide(this.#run);
        if (!transition) return undefined;
        const next = await this.#withResultStored(this.#withFinalFields(transition.next));
        const outcome = await this.#store.transition(
          this.#run,
          { ...transition, next },
          { lastEventId: this.#nextEventId - 1 },
        );
        if ("stored" in outcome) {
          this.#run = outcome.stored;
          return outcome.stored;
        }
        if (!this.#adopt(outcome.current)) return undefined;
      }
    });
  }

  #enqueue<T>(op: () => Promise<T>): Promise<T> {
    const result = this.#chain.then(() => (this.#lost ? undefined : op())) as Promise<T>;
    this.#chain = result.catch(() => undefined);
    return result;
  }

  /**
   * Takes the buffer as events: input records first (the handler consumed them before it
   * yielded what they led to, so no output precedes its input in the log, even when a
   * cancel cuts a flush short), then output chunks, log chunks and progress.
   */
  #takeEvents(): RunEventBody[] {
    const events: RunEventBody[] = [
      ...this.#unwritten,
      ...this.#inputs,
      ...chunksOf(this.#entries, "output").map(
        (chunk): RunEventBody => ({
          type: "output",
          items: chunk.map((e) => JSON.parse((e as { json: string }).json)),
        }),
      ),
      ...chunksOf(this.#entries, "log").map(
        (chunk): RunEventBody => ({ type: "log", lines: chunk.map((e) => (e as { line: LogLine }).line) }),
      ),
    ];
    if (this.#progress !== undefined) events.push({ type: "progress", progress: this.#progress });
    events.push(...(this.#finalEvents ?? []));
    this.#finalEvents = [];
    this.#unwritten = [];
    this.#entries = [];
    this.#inputs = [];
    this.#progress = undefined;
    return events;
  }

  /** Writes `events` in order, renumbering after ids another writer took (while this attempt holds the run). */
  async #write(events: RunEventBody[]): Promise<void> {
    let rest = events;
    while (rest.length > 0 && !this.#lost) {
      let written: number;
      try {
        written = await this.#store.putEvents(this.#run.runId, this.#attempt, this.#nextEventId, rest);
      } catch (error) {
        // Nothing is lost: what was not stored is written first by the next flush.
        const stored = error instanceof EventsWriteError ? error.written : 0;
        this.#nextEventId += stored;
        this.#unwritten = rest.slice(stored);
        throw error;
      }
      this.#nextEventId += written;
      rest = rest.slice(written);
      if (rest.length === 0) return;
      // An id was taken: by a status write (then the run is no longer ours), or by a stale
      // writer of an earlier attempt (then skip past it).
      if (!this.#adopt(await this.#store.get(this.#run.runId))) return;
      this.#nextEventId = Math.max(this.#nextEventId, (await this.#store.lastEventId(this.#run.runId)) + 1);
    }
  }

  /** The terminal write also records what readers need without reading events: final progress, whether it logged. */
  #withFinalFields(next: RunItem): RunItem {
    return {
      ...next,
      ...(this.#logged ? { logged: true } : {}),
      ...(next.status !== "Succeeded" && next.status !== "Pending" && this.#lastProgress !== undefined
        ? { progress: this.#lastProgress }
        : {}),
    };
  }

  /** Moves a result too large for the run item to its `#RESULT` item. */
  async #withResultStored(next: RunItem): Promise<RunItem> {
    const json = next.resultJson;
    if (json === undefined || Buffer.byteLength(json, "utf8") <= inlinePayloadBytes) return next;
    await this.#store.putPayload(next.runId, "RESULT", json);
    const { resultJson: _moved, ...rest } = next;
    return { ...rest, resultRef: true };
  }

  /** Takes `run` as the current state; returns false (and records why) when this attempt no longer holds it. */
  #adopt(run: RunItem | undefined): boolean {
    if (run?.status !== "Running" || run.attempt !== this.#attempt) {
      this.#lost = {
        status: run?.status ?? "Canceled",
        ...(run?.cancelReason ? { cancelReason: run.cancelReason } : {}),
      };
      this.#entries = [];
      this.#inputs = [];
      return false;
    }
    this.#run = run;
    return true;
  }
}

/** The entries of one kind cut into event-sized chunks, in order, each bounded by count and characters. */
function chunksOf(entries: readonly Entry[], kind: Entry["kind"]): Entry[][] {
  const chunks: Entry[][] = [];
  let chunk: Entry[] = [];
  let chars = 0;
  for (const entry of entries) {
    if (entry.kind !== kind) continue;
    if (chunk.length >= entriesPerEvent || (chunk.length > 0 && chars + entrySize(entry) > charsPerEvent)) {
      chunks.push(chunk);
      chunk = [];
      chars = 0;
    }
    chunk.push(entry);
    chars += entrySize(entry);
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks;
}
