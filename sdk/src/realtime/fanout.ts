/**
 * The fanout: pushes each new run event to the connections subscribed to its run, and
 * removes connections that are gone (`GoneException`). It reads the table's stream:
 * event items (`INSERT`) and the status events run items carry inline (a run item's
 * new inline events, compared with its old image). Records arrive in order per item key
 * (DynamoDB Streams); the SDK orders what it receives by event id and fills gaps from
 * the table, so order across items is not needed here.
 *
 * Subscribers are looked up once per run and batch; a run found without subscribers is
 * not looked up again for {@link unwatchedCacheMs} (most runs are never watched, and this
 * keeps the fanout's reads near zero for them). A subscription made within that window
 * still gets its backlog from the `subscribe` route and gaps filled by the SDK.
 */
import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import type { RunEvent } from "../domain/run-event.js";
import { runImages, type StreamRecords } from "../dispatch/wake-ups.js";
import { type EventItem, toRunEvent } from "../store/event-item.js";
import { inlineEvents } from "../store/run-item.js";
import type { RunStore } from "../store/run-store.js";
import type { ConnectionPoster } from "./connection-poster.js";
import { dropConnection, subscribers } from "./subscriptions.js";

export type { StreamRecords };

/** How long a run found without subscribers is not looked up again, in ms. */
export const unwatchedCacheMs = 1000;

export interface FanoutOptions {
  readonly store: RunStore;
  readonly poster: ConnectionPoster;
  /** Clock, epoch ms. @default Date.now */
  readonly now?: () => number;
}

/** The events a batch of stream records carries, by run, in record order. */
export function eventsOf(event: StreamRecords): Map<string, RunEvent[]> {
  const byRun = new Map<string, RunEvent[]>();
  const add = (e: RunEvent) => byRun.set(e.runId, [...(byRun.get(e.runId) ?? []), e]);
  for (const record of event.Records) {
    const image = record.dynamodb?.NewImage;
    if (record.eventName === "INSERT" && image?.kind?.S === "event") {
      add(toRunEvent(unmarshall(image as Record<string, AttributeValue>) as EventItem));
      continue;
    }
    const runs = runImages(record);
    if (!runs.new) continue;
    const seen = new Set((runs.old ? inlineEvents(runs.old) : []).map((e) => e.eventId));
    for (const e of inlineEvents(runs.new)) if (!seen.has(e.eventId)) add(e);
  }
  return byRun;
}

export function createFanoutHandler(options: FanoutOptions) {
  const { store, poster } = options;
  const now = options.now ?? Date.now;
  const unwatched = new Map<string, number>();
  return async (event: StreamRecords): Promise<{ delivered: number; gone: number }> => {
    let delivered = 0;
    let gone = 0;
    for (const [runId, events] of eventsOf(event)) {
      if ((unwatched.get(runId) ?? 0) > now()) continue;
      const connections = await subscribers(store, runId);
      if (connections.length === 0) {
        unwatched.set(runId, now() + unwatchedCacheMs);
        continue;
      }
      await Promise.all(
        connections.map(async (connectionId) => {
          for (const runEvent of events) {
            const outcome = await poster.post(connectionId, { type: "event", runId, event: runEvent });
            if (outcome === "gone") {
              gone++;
              await dropConnection(store, connectionId);
              return;
            }
            delivered++;
          }
        }),
      );
    }
    for (const [runId, until] of unwatched) if (until <= now()) unwatched.delete(runId);
    return { delivered, gone };
  };
}
