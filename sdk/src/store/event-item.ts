/**
 * Event items as stored, and their conversion to public events.
 *
 * Data arrays (log lines, output and input items) are kept as JSON text so values
 * round-trip exactly, and Brotli-compressed when that makes them smaller than
 * {@link compressAboveBytes}: writes are billed per started KB of the item, and log text
 * typically compresses three to five times, so a second's worth of log lines fits one
 * write unit.
 */
import { brotliCompressSync, brotliDecompressSync, constants } from "node:zlib";
import type { RunEvent, RunEventBody } from "../domain/run-event.js";
import { eventKey } from "./keys.js";

/** JSON data at least this long is stored compressed (if that is smaller), in bytes. */
export const compressAboveBytes = 200;

/** An event item. `atMs` is epoch ms; `data` is JSON text, `dataZ` the same Brotli-compressed. */
export interface EventItem {
  pk: string;
  sk: string;
  kind: "event";
  runId: string;
  eventId: number;
  attempt: number;
  atMs: number;
  body: StoredEventBody;
  data?: string;
  dataZ?: Uint8Array;
}

/** The body without its data array (`lines` or `items`), which is stored in `data`/`dataZ`. */
type StoredEventBody =
  | Exclude<RunEventBody, { type: "output" | "input" | "log" }>
  | { type: "output" }
  | { type: "log" }
  | { type: "input"; name: string };

/** Builds the item of event `eventId` of run `runId`. */
export function toEventItem(
  runId: string,
  eventId: number,
  attempt: number,
  body: RunEventBody,
  atMs = Date.now(),
): EventItem {
  const base = { ...eventKey(runId, eventId), kind: "event" as const, runId, eventId, attempt, atMs };
  if (body.type !== "output" && body.type !== "input" && body.type !== "log") return { ...base, body };
  const json = JSON.stringify(body.type === "log" ? body.lines : body.items);
  const stored: StoredEventBody =
    body.type === "input" ? { type: "input", name: body.name } : { type: body.type };
  const bytes = Buffer.byteLength(json, "utf8");
  if (bytes >= compressAboveBytes) {
    const packed = brotliCompressSync(json, {
      params: {
        [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT,
        [constants.BROTLI_PARAM_QUALITY]: 9,
      },
    });
    if (packed.length < bytes) return { ...base, body: stored, dataZ: new Uint8Array(packed) };
  }
  return { ...base, body: stored, data: json };
}

/** Converts a stored event item to the public event. */
export function toRunEvent(item: EventItem): RunEvent {
  const identity = {
    runId: item.runId,
    eventId: item.eventId,
    attempt: item.attempt,
    at: new Date(item.atMs).toISOString(),
  };
  const { body } = item;
  if (body.type !== "output" && body.type !== "input" && body.type !== "log") return { ...body, ...identity };
  const json = item.dataZ ? brotliDecompressSync(item.dataZ).toString("utf8") : (item.data ?? "[]");
  const data = JSON.parse(json) as unknown[];
  if (body.type === "log") return { type: "log", lines: data as never, ...identity };
  if (body.type === "input") return { type: "input", name: body.name, items: data, ...identity };
  return { type: "output", items: data, ...identity };
}

/** Whether an event is a data event (written by the attempt that holds the run, not a status change). */
export function isDataEvent(event: Pick<RunEventBody, "type">): boolean {
  return event.type !== "status";
}
