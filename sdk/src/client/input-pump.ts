/**
 * The caller's side of a streamed argument: iterates the source and appends its items
 * to the consuming run's log as `input` events, in chunks (at most 100 items or 50 ms
 * per event), then `inputComplete`. Stops, closing the source, when the run is terminal.
 */
import { toJson } from "../domain/json.js";
import type { RunEventBody } from "../domain/run-event.js";
import type { RunStore } from "../store/run-store.js";
import { toRunError } from "../worker/errors-to-record.js";
import { maxOutputItemBytes } from "../worker/execute-attempt.js";

const itemsPerEvent = 100;
const maxDelayMs = 50;

export async function pumpInput(
  store: RunStore,
  runId: string,
  name: string,
  source: AsyncIterable<unknown>,
): Promise<void> {
  const iterator = source[Symbol.asyncIterator]();
  let buffer: unknown[] = [];
  let firstBufferedAt = 0;
  let open = true;
  const flush = async (extra: RunEventBody[] = []) => {
    const events: RunEventBody[] =
      buffer.length > 0 ? [{ type: "input", name, items: buffer }, ...extra] : extra;
    buffer = [];
    if (events.length > 0 && !(await store.appendEvents(runId, events))) open = false;
  };
  let pendingNext: Promise<IteratorResult<unknown>> | undefined;
  try {
    while (open) {
      pendingNext ??= iterator.next();
      const waitMs = buffer.length > 0 ? Math.max(0, firstBufferedAt + maxDelayMs - Date.now()) : undefined;
      const next = await (waitMs === undefined
        ? pendingNext
        : Promise.race([pendingNext, new Promise<"flush">((r) => setTimeout(() => r("flush"), waitMs))]));
      if (next === "flush") {
        await flush();
        continue;
      }
      pendingNext = undefined;
      if (next.done) {
        await flush([{ type: "inputComplete", name }]);
        return;
      }
      if (buffer.length === 0) firstBufferedAt = Date.now();
      buffer.push(JSON.parse(toJson(next.value, `${name}[item]`, maxOutputItemBytes)));
      if (buffer.length >= itemsPerEvent) await flush();
    }
  } catch (error) {
    if (open) await flush([{ type: "inputComplete", name, error: toRunError(error) }]);
    return;
  }
  await iterator.return?.();
}
