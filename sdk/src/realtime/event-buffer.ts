/**
 * Events of one run gathered from several sources (pushed frames, table reads), released
 * in id order with no gap and no duplicate: an event is released only once every id
 * before it has been, and an id at or below the last one released is dropped.
 */
import type { RunEvent } from "../domain/run-event.js";

export class EventBuffer {
  #last: number;
  readonly #held = new Map<number, RunEvent>();

  /** @param sinceEventId - the last id already seen: the first event released is the next one. */
  constructor(sinceEventId: number) {
    this.#last = sinceEventId;
  }

  /** The id of the last event released (or the starting id). */
  get last(): number {
    return this.#last;
  }

  /** Whether events are held behind a missing id. */
  get hasGap(): boolean {
    return this.#held.size > 0 && !this.#held.has(this.#last + 1);
  }

  /** Keeps `event` unless its id was released already. */
  add(event: RunEvent): void {
    if (event.eventId > this.#last) this.#held.set(event.eventId, event);
  }

  /** Releases the event after the last one, if it is here. */
  next(): RunEvent | undefined {
    const event = this.#held.get(this.#last + 1);
    if (!event) return undefined;
    this.#held.delete(event.eventId);
    this.#last = event.eventId;
    return event;
  }
}
