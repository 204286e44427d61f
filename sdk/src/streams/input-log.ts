/**
 * Pipeline input: the items of a streamed argument, kept apart from the consuming
 * run's event log so the producer never contends with the worker that holds the run.
 *
 * The producer (the process that triggered the run) is the one writer of input `name`:
 * it numbers its chunks 1, 2, 3, … and writes each as `RUN#<id>` / `IN#<name>#<seq>`
 * with `attribute_not_exists`; the last chunk says the input ended (`complete`, with an
 * `error` if the source failed). The consuming worker reads them in order and records
 * what its handler consumed as `input` / `inputComplete` events of its own log.
 *
 * Liveness: a producer whose source has nothing new writes an empty chunk every
 * {@link inputKeepAliveMs} (1 write unit each, only while an input is open and idle); a
 * consumer that sees no new chunk for {@link inputIdleTimeoutMs} ends the input with
 * `InputStalledError` (the producing process is gone, or stopped writing), so a run never
 * waits forever for input nobody will write.
 */

import { PutCommand } from "@aws-sdk/lib-dynamodb";
import type { RunError } from "../domain/run.js";
import { isConditionFailed } from "../store/condition-failed.js";
import { inputKey, inputPrefix, runPk } from "../store/keys.js";
import type { RunStore } from "../store/run-store.js";

/** How often an idle producer writes an empty chunk to show it is alive, in ms. */
export const inputKeepAliveMs = 10_000;

/** How long a consumer waits for a new chunk before it ends the input as stalled, in ms (three keep-alives). */
export const inputIdleTimeoutMs = 3 * inputKeepAliveMs;

/** One chunk of an input stream. */
export interface InputChunk {
  readonly seq: number;
  readonly items: readonly unknown[];
  /** The input ended with this chunk. */
  readonly complete?: boolean;
  /** The input's source failed (with `complete`). */
  readonly error?: RunError;
}

/** Writes chunk `chunk.seq` of input `name` of run `runId`. Returns false if that chunk exists already. */
export async function putInputChunk(
  store: RunStore,
  runId: string,
  name: string,
  chunk: InputChunk,
): Promise<boolean> {
  try {
    await store.doc.send(
      new PutCommand({
        TableName: store.tableName,
        Item: {
          ...inputKey(runId, name, chunk.seq),
          kind: "input",
          name,
          seq: chunk.seq,
          itemsJson: JSON.stringify(chunk.items),
          ...(chunk.complete ? { complete: true } : {}),
          ...(chunk.error ? { error: chunk.error } : {}),
        },
        ConditionExpression: "attribute_not_exists(sk)",
      }),
    );
    return true;
  } catch (error) {
    if (isConditionFailed(error)) return false;
    throw error;
  }
}

/** The chunks of input `name` after chunk `afterSeq`, in order (strongly consistent). */
export async function* readInputChunks(
  store: RunStore,
  runId: string,
  name: string,
  afterSeq = 0,
): AsyncIterable<InputChunk> {
  const prefix = inputPrefix(name);
  for await (const item of store.query<{
    seq: number;
    itemsJson: string;
    complete?: boolean;
    error?: RunError;
  }>({
    KeyConditionExpression: "pk = :pk AND sk BETWEEN :from AND :to",
    ExpressionAttributeValues: {
      ":pk": runPk(runId),
      ":from": inputKey(runId, name, afterSeq + 1).sk,
      ":to": `${prefix}~`,
    },
    ConsistentRead: true,
  })) {
    yield {
      seq: item.seq,
      items: JSON.parse(item.itemsJson) as unknown[],
      ...(item.complete ? { complete: true } : {}),
      ...(item.error ? { error: item.error } : {}),
    };
  }
}

/** Copies every chunk of input `name` from one run to another (a rerun of a pipeline consumer). */
export async function copyInput(
  store: RunStore,
  fromRunId: string,
  toRunId: string,
  name: string,
): Promise<void> {
  for await (const chunk of readInputChunks(store, fromRunId, name)) {
    await putInputChunk(store, toRunId, name, chunk);
  }
}
