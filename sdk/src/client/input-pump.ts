/**
 * The caller's side of a streamed argument: iterates the source and writes its items as
 * chunks of the consuming run's input (at most 100 items or 50 ms per chunk; see
 * `streams/input-log.ts`), the last one marked complete, and an empty chunk every
 * `inputKeepAliveMs` while the source is idle. Stops, closing the source, when the run is
 * terminal.
 */

import { maxOutputItemBytes, toJson } from "../domain/json.js";
import { isTerminal } from "../domain/run.js";
import type { RunStore } from "../store/run-store.js";
import { inputKeepAliveMs, putInputChunk } from "../streams/input-log.js";
import { toRunError } from "../worker/errors-to-record.js";

const itemsPerChunk = 100;
const maxDelayMs = 50;
/** Chunks between checks that the consuming run is still live. */
const chunksPerLivenessCheck = 10;

export async function pumpInput(
  store: RunStore,
  runId: string,
  name: string,
  source: AsyncIterable<unknown>,
): Promise<void> {
  const iterator = source[Symbol.asyncIterator]();
  let buffer: unknown[] = [];
  let firstBufferedAt = 0;
  let seq = 0;
  let open = true;
  let lastWriteAt = Date.now();
  const write = async (complete?: { error?: ReturnType<typeof toRunError> }) => {
    const items = buffer;
    buffer = [];
    const keepAlive = Date.now() - lastWriteAt >= inputKeepAliveMs;
    if (items.length === 0 && !complete && !keepAlive) return;
    seq++;
    lastWriteAt = Date.now();
    await putInputChunk(store, runId, name, {
      seq,
      items,
      ...(complete ? { complete: true } : {}),
      ...(complete?.error ? { error: complete.error } : {}),
    });
    // Every few chunks, and at each keep-alive (an idle source on a finished run must not
    // keep the pump writing): is the consuming run still live?
    if (!complete && (seq % chunksPerLivenessCheck === 0 || items.length === 0)) {
      const run = await store.get(runId, false);
      if (!run || isTerminal(run.status)) open = false;
    }
  };
  let pendingNext: Promise<IteratorResult<unknown>> | undefined;
  let flushTimer: NodeJS.Timeout | undefined;
  try {
    while (open) {
      pendingNext ??= iterator.next();
      // Buffered items are written within `maxDelayMs`; with none, a keep-alive is due.
      const waitMs = Math.max(
        0,
        buffer.length > 0
          ? firstBufferedAt + maxDelayMs - Date.now()
          : lastWriteAt + inputKeepAliveMs - Date.now(),
      );
      const next = await Promise.race([
        pendingNext,
        new Promise<"flush">((r) => {
          flushTimer = setTimeout(() => r("flush"), waitMs);
        }),
      ]);
      clearTimeout(flushTimer);
      if (next === "flush") {
        await write();
        continue;
      }
      pendingNext = undefined;
      if (next.done) {
        await write({});
        return;
      }
      if (buffer.length === 0) firstBufferedAt = Date.now();
      buffer.push(JSON.parse(toJson(next.value, `${name}[item]`, maxOutputItemBytes)));
      if (buffer.length >= itemsPerChunk) await write();
    }
  } catch (error) {
    clearTimeout(flushTimer);
    if (open) await write({ error: toRunError(error) });
    return;
  }
  await iterator.return?.();
}
