/**
 * The fanout: a handler on the table's DynamoDB stream that pushes each new run event
 * to the connections subscribed to its run, and removes connections that are gone
 * (`GoneException`). Only `INSERT`s of event items matter; everything else is skipped.
 * Records arrive in order per item key (DynamoDB Streams), and a run's events are
 * inserted in `eventId` order, so subscribers see them in order.
 */
import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import type { DynamoDBStreamEvent } from "aws-lambda";
import type { EventItem, RunStore } from "../store/run-store.js";
import { toRunEvent } from "../store/run-store.js";
import type { ConnectionPoster } from "./connection-poster.js";
import { dropConnection, subscribers } from "./subscriptions.js";

export interface FanoutOptions {
  readonly store: RunStore;
  readonly poster: ConnectionPoster;
}

/** Stream records as this handler reads them (the Lambda event's shape). */
export type StreamRecords = Pick<DynamoDBStreamEvent, "Records">;

export function createFanoutHandler(options: FanoutOptions) {
  const { store, poster } = options;
  return async (event: StreamRecords): Promise<{ delivered: number; gone: number }> => {
    const byRun = new Map<string, EventItem[]>();
    for (const record of event.Records) {
      const image = record.dynamodb?.NewImage;
      if (record.eventName !== "INSERT" || !image || image.kind?.S !== "event") continue;
      const item = unmarshall(image as Record<string, AttributeValue>) as EventItem;
      byRun.set(item.runId, [...(byRun.get(item.runId) ?? []), item]);
    }
    let delivered = 0;
    let gone = 0;
    for (const [runId, items] of byRun) {
      const connections = await subscribers(store, runId);
      await Promise.all(
        connections.map(async (connectionId) => {
          for (const item of items) {
            const outcome = await poster.post(connectionId, {
              type: "event",
              runId,
              event: toRunEvent(item),
            });
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
