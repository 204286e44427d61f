/**
 * The fanout: pushes each new run event to the connections subscribed to its run, and
 * removes connections that are gone (`GoneException`). It reads the table's stream:
 * event items (`INSERT`) and the status events run items carry inline (a run item's
 * new inline events, compared with its old image). Records arrive in order per item key
 * (DynamoDB Streams); the SDK orders what it receives by event id and fills gaps from
 * the table, so order across items is not needed here.
 *
 * Subscribers are looked up once per run and batch, and only for runs that may have
 * some: a run item's image says so (`watched`, set by the `subscribe` route before it
 * sends the backlog, so every later write's image carries it), and event items are only
 * written by runs that log, stream or take input. A simple run costs the fanout no read.
 * A batch's event items ring its subscribers once per stream batch (`batchEvents`): one
 * `Query` of its subscribers per batch and stream batch.
 */
import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import { runImages, type StreamRecords } from "../dispatch/wake-ups.js";
import type { RunEvent } from "../domain/run-event.js";
import { type EventItem, toRunEvent } from "../store/event-item.js";
import { batchPk } from "../store/keys.js";
import { inlineEvents } from "../store/run-item.js";
import type { RunStore } from "../store/run-store.js";
import type { ConnectionPoster } from "./connection-poster.js";
import { dropConnection, subscribers } from "./subscriptions.js";

export type { StreamRecords };

export interface FanoutOptions {
  readonly store: RunStore;
  readonly poster: ConnectionPoster;
}

/** The events a batch of stream records carries, by run, in record order (runs nobody watches left out). */
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
    if (!runs.new?.watched) continue;
    const seen = new Set((runs.old ? inlineEvents(runs.old) : []).map((e) => e.eventId));
    for (const e of inlineEvents(runs.new)) if (!seen.has(e.eventId)) add(e);
  }
  return byRun;
}

/** The batches whose event log a batch of stream records wrote to. */
export function batchesWithEvents(event: StreamRecords): Set<string> {
  const ids = new Set<string>();
  for (const record of event.Records) {
    const image = record.dynamodb?.NewImage;
    if (record.eventName === "INSERT" && image?.kind?.S === "batchEvents" && image.pk?.S) {
      ids.add(image.pk.S.slice(batchPk("").length));
    }
  }
  return ids;
}

export function createFanoutHandler(options: FanoutOptions) {
  const { store, poster } = options;
  return async (event: StreamRecords): Promise<{ delivered: number; gone: number }> => {
    let delivered = 0;
    let gone = 0;
    // A batch's event log: one doorbell frame per batch and stream batch (the client reads the log).
    for (const batchId of batchesWithEvents(event)) {
      for (const connectionId of await subscribers(store, batchId)) {
        if ((await poster.post(connectionId, { type: "batchEvents", batchId })) === "gone") {
          gone++;
          await dropConnection(store, connectionId);
        } else delivered++;
      }
    }
    for (const [runId, events] of eventsOf(event)) {
      const connections = await subscribers(store, runId);
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
    return { delivered, gone };
  };
}
