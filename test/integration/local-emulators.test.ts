import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import {
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from "@aws-sdk/client-dynamodb";
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from "@aws-sdk/client-sqs";
import { afterEach, describe, expect, inject, it } from "vitest";
import { localClientConfig } from "../../local/aws-clients.js";
import { type DynamoDbLocal, startDynamoDbLocal } from "../../local/dynamodb-local.js";
import { createLanes, createTable } from "../../local/provision.js";
import { startSqsLocal } from "../../local/sqs-local.js";
import { defaultLanes, laneQueueName } from "../../sdk/src/queue/lane-definitions.js";
import { tableDefinition } from "../../sdk/src/store/table-definition.js";
import { createTestResources } from "../support/local-resources.js";

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ESRCH") return false;
    throw error;
  }
}

async function waitUntilDead(pid: number, timeoutMs = 10_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return !isAlive(pid);
}

describe("DynamoDB Local", () => {
  const started: DynamoDbLocal[] = [];
  const clients: DynamoDBClient[] = [];
  const dirs: string[] = [];

  async function start(dataDir?: string): Promise<{ ddb: DynamoDbLocal; client: DynamoDBClient }> {
    const ddb = await startDynamoDbLocal(dataDir ? { dataDir } : {});
    started.push(ddb);
    const client = new DynamoDBClient(localClientConfig(ddb.endpoint));
    clients.push(client);
    return { ddb, client };
  }

  afterEach(async () => {
    for (const client of clients.splice(0)) client.destroy();
    await Promise.all(started.splice(0).map((ddb) => ddb.stop()));
    await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
  });

  it("creates the table with every index, streams and TTL, idempotently", async () => {
    const { ddb, client } = await start();
    expect(ddb.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

    await createTable(client, "jobs");
    await createTable(client, "jobs");

    const { Table } = await client.send(new DescribeTableCommand({ TableName: "jobs" }));
    expect(Table?.TableStatus).toBe("ACTIVE");
    expect(Table?.KeySchema).toEqual([
      { AttributeName: "pk", KeyType: "HASH" },
      { AttributeName: "sk", KeyType: "RANGE" },
    ]);
    expect(Table?.BillingModeSummary?.BillingMode).toBe("PAY_PER_REQUEST");
    expect(Table?.StreamSpecification).toEqual({ StreamEnabled: true, StreamViewType: "NEW_AND_OLD_IMAGES" });
    expect(Table?.LatestStreamArn).toBeTruthy();

    const indexes = Table?.GlobalSecondaryIndexes ?? [];
    expect(indexes.map((i) => i.IndexName).sort()).toEqual(
      tableDefinition.indexes.map((i) => i.indexName).sort(),
    );
    for (const def of tableDefinition.indexes) {
      const index = indexes.find((i) => i.IndexName === def.indexName);
      expect(index?.IndexStatus).toBe("ACTIVE");
      expect(index?.Projection?.ProjectionType).toBe("KEYS_ONLY");
      expect(index?.KeySchema).toEqual([
        { AttributeName: def.partitionKey, KeyType: "HASH" },
        { AttributeName: def.sortKey, KeyType: "RANGE" },
      ]);
    }

    const { TimeToLiveDescription } = await client.send(new DescribeTimeToLiveCommand({ TableName: "jobs" }));
    expect(TimeToLiveDescription).toEqual({ TimeToLiveStatus: "ENABLED", AttributeName: "expiresAt" });
  });

  it("stop() leaves no Java process and is idempotent", async () => {
    const { ddb } = await start();
    expect(isAlive(ddb.pid)).toBe(true);
    await Promise.all([ddb.stop(), ddb.stop()]);
    await ddb.stop();
    expect(isAlive(ddb.pid)).toBe(false);
  });

  it("refuses a port that something already listens on", async () => {
    const { ddb } = await start();
    await expect(startDynamoDbLocal({ port: ddb.port })).rejects.toThrow(
      `port ${ddb.port} is already in use`,
    );
  });

  it("keeps tables across a restart with a dataDir", async () => {
    const dir = await mkdtemp(join(tmpdir(), "ddb-local-"));
    dirs.push(dir);
    const dataDir = join(dir, "data"); // does not exist yet: start creates it

    const first = await start(dataDir);
    await createTable(first.client, "persisted");
    await first.client.send(
      new PutItemCommand({ TableName: "persisted", Item: { pk: { S: "RUN#1" }, sk: { S: "#RUN" } } }),
    );
    await first.ddb.stop();

    const second = await start(dataDir);
    const { Table } = await second.client.send(new DescribeTableCommand({ TableName: "persisted" }));
    expect(Table?.GlobalSecondaryIndexes).toHaveLength(tableDefinition.indexes.length);
    const { Item } = await second.client.send(
      new GetItemCommand({ TableName: "persisted", Key: { pk: { S: "RUN#1" }, sk: { S: "#RUN" } } }),
    );
    expect(Item?.pk?.S).toBe("RUN#1");
    // Creating it again on the restarted instance is a no-op.
    await createTable(second.client, "persisted");
  });

  it("kills the Java child when the Node parent exits", async () => {
    const moduleUrl = new URL("../../local/dynamodb-local.ts", import.meta.url).href;
    const script = `const { startDynamoDbLocal } = await import(${JSON.stringify(moduleUrl)});
      const ddb = await startDynamoDbLocal({});
      console.log(ddb.pid);
      process.exit(0);`;
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ["--import", "tsx", "--input-type=module", "-e", script],
      { cwd: fileURLToPath(new URL("../..", import.meta.url)), timeout: 45_000 },
    );
    const pid = Number(stdout.trim().split("\n").pop());
    expect(pid).toBeGreaterThan(0);
    expect(await waitUntilDead(pid)).toBe(true);
  });
});

describe("fauxqs lanes", () => {
  it("creates one high-throughput FIFO queue per lane with its dead-letter queue, idempotently, with URLs on the endpoint's origin", async () => {
    const { prefix, laneUrls, deadLetterUrls, sqs } = await createTestResources();
    const endpoint = inject("sqsEndpoint");
    expect(Object.keys(laneUrls).sort()).toEqual(defaultLanes.map((l) => l.name).sort());

    for (const lane of defaultLanes) {
      const url = laneUrls[lane.name] as string;
      expect(url).toBe(`${endpoint}/000000000000/${laneQueueName(prefix, lane)}`);
      const { Attributes } = await sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["All"] }),
      );
      expect(Attributes?.FifoQueue).toBe("true");
      expect(Attributes?.ContentBasedDeduplication).toBe("false");
      expect(Attributes?.VisibilityTimeout).toBe("60");
      expect(Attributes?.DeduplicationScope).toBe("messageGroup");
      expect(Attributes?.FifoThroughputLimit).toBe("perMessageGroupId");
      const { Attributes: dlq } = await sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: deadLetterUrls[lane.name], AttributeNames: ["QueueArn"] }),
      );
      expect(JSON.parse(Attributes?.RedrivePolicy ?? "{}")).toMatchObject({
        deadLetterTargetArn: dlq?.QueueArn,
      });
    }
    expect(await createLanes(sqs, prefix)).toEqual({ laneUrls, deadLetterUrls });
    sqs.destroy();
  });

  it("sends, receives, deduplicates and changes visibility through the returned URLs", async () => {
    const { laneUrls, sqs } = await createTestResources();
    const queueUrl = laneUrls.normal as string;
    const body = JSON.stringify({ runId: "r1", attempt: 1 });
    for (let i = 0; i < 2; i++) {
      await sqs.send(
        new SendMessageCommand({
          QueueUrl: queueUrl,
          MessageBody: body,
          MessageGroupId: "r1",
          MessageDeduplicationId: "r1-1-1",
        }),
      );
    }

    const first = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10 }));
    expect(first.Messages?.map((m) => m.Body)).toEqual([body]); // the duplicate was dropped
    const receipt = first.Messages?.[0]?.ReceiptHandle as string;

    // In flight: invisible until its visibility is changed.
    const hidden = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl }));
    expect(hidden.Messages ?? []).toHaveLength(0);

    await sqs.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: queueUrl,
        ReceiptHandle: receipt,
        VisibilityTimeout: 0,
      }),
    );
    const again = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl }));
    expect(again.Messages?.map((m) => m.Body)).toEqual([body]);

    await sqs.send(
      new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: again.Messages?.[0]?.ReceiptHandle }),
    );
    const empty = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl }));
    expect(empty.Messages ?? []).toHaveLength(0);
    sqs.destroy();
  });

  it("serves a client that routes by QueueUrl alone (no endpoint configured)", async () => {
    const server = await startSqsLocal({});
    const silent = { debug() {}, info() {}, warn() {}, error() {} };
    const configured = new SQSClient(localClientConfig(server.endpoint));
    const byUrl = new SQSClient({
      ...localClientConfig(server.endpoint),
      endpoint: undefined,
      logger: silent,
    });
    try {
      const { normal } = (await createLanes(configured, "byurl-")).laneUrls;
      expect(new URL(normal as string).origin).toBe(server.endpoint);
      await byUrl.send(
        new SendMessageCommand({
          QueueUrl: normal,
          MessageBody: "x",
          MessageGroupId: "g",
          MessageDeduplicationId: "d",
        }),
      );
      const received = await configured.send(new ReceiveMessageCommand({ QueueUrl: normal }));
      expect(received.Messages?.map((m) => m.Body)).toEqual(["x"]);
    } finally {
      configured.destroy();
      byUrl.destroy();
      await server.stop();
      await server.stop();
    }
  });
});
