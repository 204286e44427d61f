/** Merging events from pushes and table reads (`sdk/src/realtime/event-buffer.ts`): id order, no gap, no duplicate. */
import { describe, expect, it } from "vitest";
import type { RunEvent } from "../../sdk/src/domain/run-event.js";
import { EventBuffer } from "../../sdk/src/realtime/event-buffer.js";

const event = (eventId: number): RunEvent => ({
  runId: "R1",
  eventId,
  attempt: 1,
  at: "2030-01-01T00:00:00.000Z",
  type: "progress",
  progress: eventId / 10,
});

function drain(buffer: EventBuffer): number[] {
  const ids: number[] = [];
  for (let e = buffer.next(); e; e = buffer.next()) ids.push(e.eventId);
  return ids;
}

describe("EventBuffer", () => {
  it("releases events in id order once every earlier id is there, each once", () => {
    const buffer = new EventBuffer(2);
    for (const id of [5, 3, 2, 1]) buffer.add(event(id));
    expect(drain(buffer)).toEqual([3]);
    expect(buffer.hasGap).toBe(true);
    for (const id of [4, 5, 3]) buffer.add(event(id));
    expect(buffer.hasGap).toBe(false);
    expect(drain(buffer)).toEqual([4, 5]);
    buffer.add(event(5));
    expect(drain(buffer)).toEqual([]);
    expect(buffer.last).toBe(5);
    expect(buffer.hasGap).toBe(false);
  });
});
