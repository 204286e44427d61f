/**
 * The raw capacity of DynamoDB + SQS for the floor of what one run needs, without the
 * job system: how many such "runs" per second the emulators (or AWS) can serve at all.
 *
 * One run of the mix, in order:
 * 1. `PutItem` of a run-like item under 1 KB (conditional on a new key, with byJob index keys);
 * 2. `SendMessage` to a FIFO lane (the message is its own group and deduplication id);
 * 3. `ReceiveMessage` of one message (whichever run it carries);
 * 4. `UpdateItem` claiming that run (`Pending` → `Running`, conditional);
 * 5. `UpdateItem` completing it (`Running` → `Succeeded` with its attempt, conditional);
 * 6. `DeleteMessage`;
 * 7. `GetItem` of the run, strongly consistent (the caller reading the result).
 */
import { randomUUID } from "node:crypto";
import {
  type AttributeValue,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from "@aws-sdk/client-dynamodb";
import {
  DeleteMessageCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import { itemSizeBytes } from "../sdk/src/metrics/item-size.js";
import { IndexName, tableDefinition } from "../sdk/src/store/table-definition.js";
import { percentile } from "./support/stats.js";

/** Where the mix runs: a table created by `createTable` and one lane's queue URL. */
export interface CeilingTarget {
  readonly dynamodb: DynamoDBClient;
  readonly sqs: SQSClient;
  readonly tableName: string;
  readonly queueUrl: string;
}

export interface CeilingOptions extends CeilingTarget {
  /** Closed loops running the mix at once (each starts its next run when its last ends). */
  readonly concurrency: number;
  /** How long loops keep starting runs, in milliseconds; runs in flight then still finish. */
  readonly durationMs: number;
}

/** A request of the mix, as its latencies are reported. */
export type MixRequest =
  | "PutItem"
  | "SendMessage"
  | "ReceiveMessage"
  | "UpdateItem"
  | "DeleteMessage"
  | "GetItem";

export interface CeilingResult {
  readonly concurrency: number;
  /** Runs of the mix completed. */
  readonly runs: number;
  /** From the first start to the last finish, in milliseconds. */
  readonly elapsedMs: number;
  /** `runs` per second of `elapsedMs`. */
  readonly runsPerSecond: number;
  /** Median latency of each request of the mix, in milliseconds (both updates pooled). */
  readonly p50Ms: Readonly<Record<MixRequest, number>>;
  /** Receives that came back empty and were repeated (not part of the mix; 0 expected). */
  readonly emptyReceives: number;
}

/**
 * Runs the mix in `concurrency` closed loops for `durationMs` and reports throughput and
 * per-request latency. Leaves the queue as it found it (each run deletes one message).
 * Does no warm-up: on a cold process, run a short measurement first and discard it.
 */
export async function measureCeiling(options: CeilingOptions): Promise<CeilingResult> {
  const latencies = Object.fromEntries(mixRequests.map((r) => [r, [] as number[]])) as Record<
    MixRequest,
    number[]
  >;
  const timed = async <T>(request: MixRequest, send: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    const result = await send();
    latencies[request].push(performance.now() - t0);
    return result;
  };
  let runs = 0;
  let emptyReceives = 0;
  const began = performance.now();
  const deadline = began + options.durationMs;
  const loop = async () => {
    while (performance.now() < deadline) {
      emptyReceives += await runOnce(options, timed);
      runs += 1;
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, loop));
  const elapsedMs = performance.now() - began;
  return {
    concurrency: options.concurrency,
    runs,
    elapsedMs,
    runsPerSecond: runs / (elapsedMs / 1000),
    p50Ms: Object.fromEntries(mixRequests.map((r) => [r, percentile(latencies[r], 0.5)])) as Record<
      MixRequest,
      number
    >,
    emptyReceives,
  };
}

/**
 * Median latency, in milliseconds, of one conditional `UpdateItem` sent alone: `samples`
 * sequential increments of one item, each conditional on the previous value. The unit
 * other benchmarks report latencies in.
 */
export async function measureRawUpdateP50(options: {
  readonly dynamodb: DynamoDBClient;
  readonly tableName: string;
  readonly samples: number;
}): Promise<number> {
  const { dynamodb, tableName } = options;
  const key = { pk: S(`RAW#${randomUUID()}`), sk: S("RAW") };
  await dynamodb.send(new PutItemCommand({ TableName: tableName, Item: { ...key, n: { N: "0" } } }));
  const latencies: number[] = [];
  for (let n = 0; n < options.samples; n++) {
    const update = new UpdateItemCommand({
      TableName: tableName,
      Key: key,
      UpdateExpression: "SET n = :next",
      ConditionExpression: "n = :current",
      ExpressionAttributeValues: { ":current": { N: String(n) }, ":next": { N: String(n + 1) } },
    });
    const t0 = performance.now();
    await dynamodb.send(update);
    latencies.push(performance.now() - t0);
  }
  return percentile(latencies, 0.5);
}

const mixRequests: readonly MixRequest[] = [
  "PutItem",
  "SendMessage",
  "ReceiveMessage",
  "UpdateItem",
  "DeleteMessage",
  "GetItem",
];

type Timed = <T>(request: MixRequest, send: () => Promise<T>) => Promise<T>;

/** One run of the mix; returns how many receives came back empty before one did not. */
async function runOnce(target: CeilingTarget, timed: Timed): Promise<number> {
  const { dynamodb, sqs, tableName, queueUrl } = target;
  const runId = randomUUID();
  await timed("PutItem", () =>
    dynamodb.send(
      new PutItemCommand({
        TableName: tableName,
        Item: runItem(runId),
        ConditionExpression: "attribute_not_exists(pk)",
      }),
    ),
  );
  await timed("SendMessage", () =>
    sqs.send(
      new SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: JSON.stringify({ runId }),
        MessageGroupId: runId,
        MessageDeduplicationId: runId,
      }),
    ),
  );
  let emptyReceives = 0;
  let message: { Body?: string; ReceiptHandle?: string } | undefined;
  for (;;) {
    const { Messages } = await timed("ReceiveMessage", () =>
      sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 1, WaitTimeSeconds: 1 })),
    );
    message = Messages?.[0];
    if (message) break;
    emptyReceives += 1;
  }
  const received = (JSON.parse(message.Body ?? "{}") as { runId: string }).runId;
  const key = runKey(received);
  await timed("UpdateItem", () =>
    dynamodb.send(
      new UpdateItemCommand({
        TableName: tableName,
        Key: key,
        UpdateExpression: "SET #status = :running, attempt = attempt + :one",
        ConditionExpression: "#status = :pending",
        ExpressionAttributeNames: { "#status": "status" },
        ExpressionAttributeValues: { ":running": S("Running"), ":pending": S("Pending"), ":one": { N: "1" } },
      }),
    ),
  );
  await timed("UpdateItem", () =>
    dynamodb.send(
      new UpdateItemCommand({
        TableName: tableName,
        Key: key,
        UpdateExpression: "SET #status = :succeeded, #result = :result",
        ConditionExpression: "#status = :running AND attempt = :attempt",
        ExpressionAttributeNames: { "#status": "status", "#result": "result" },
        ExpressionAttributeValues: {
          ":succeeded": S("Succeeded"),
          ":running": S("Running"),
          ":attempt": { N: "1" },
          ":result": S('{"sum":3}'),
        },
      }),
    ),
  );
  await timed("DeleteMessage", () =>
    sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle })),
  );
  await timed("GetItem", () =>
    dynamodb.send(new GetItemCommand({ TableName: tableName, Key: key, ConsistentRead: true })),
  );
  return emptyReceives;
}

const S = (s: string): AttributeValue => ({ S: s });

function runKey(runId: string): Record<string, AttributeValue> {
  return { pk: S(`RUN#${runId}`), sk: S("RUN") };
}

const byJob = tableDefinition.indexes.find((i) => i.indexName === IndexName.byJob);
if (!byJob) throw new Error("the table definition has no byJob index");
const byJobKeys = { partition: byJob.partitionKey, sort: byJob.sortKey };
const ARGS = S(JSON.stringify({ a: 1, b: 2, note: "x".repeat(300) }));

/** A Pending run item of about 500 bytes with its byJob index keys. */
function runItem(runId: string): Record<string, AttributeValue> {
  const createdAt = new Date().toISOString();
  return {
    ...runKey(runId),
    jobName: S("Add"),
    status: S("Pending"),
    attempt: { N: "0" },
    args: ARGS,
    createdAt: S(createdAt),
    [byJobKeys.partition]: S("JOB#Add#0"),
    [byJobKeys.sort]: S(`${createdAt}#${runId}`),
  };
}

if (itemSizeBytes(runItem(randomUUID())) > 1024) throw new Error("the mix's run item must be at most 1 KB");
