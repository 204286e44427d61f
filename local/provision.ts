/**
 * Creates the table and the lanes from their shared definitions (see
 * `sdk/src/store/table-definition.ts` and `sdk/src/queue/lane-definitions.ts`).
 * Both functions are idempotent and work against DynamoDB Local / fauxqs and real AWS.
 */
import {
  type AttributeDefinition,
  CreateTableCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  type DynamoDBClient,
  ResourceInUseException,
  ResourceNotFoundException,
  UpdateTimeToLiveCommand,
} from "@aws-sdk/client-dynamodb";
import { CreateQueueCommand, GetQueueAttributesCommand, type SQSClient } from "@aws-sdk/client-sqs";
import {
  deadLetterQueueName,
  defaultLanes,
  type LaneDefinition,
  laneMaxReceiveCount,
  laneQueueAttributes,
  laneQueueName,
} from "../sdk/src/queue/lane-definitions.js";
import { tableDefinition } from "../sdk/src/store/table-definition.js";

const TABLE_ACTIVE_TIMEOUT_MS = 5 * 60_000;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Creates the table (keys, GSIs with the definition's projection, on-demand billing, streams with
 * new and old images), waits until it and its indexes are ACTIVE, and enables TTL on
 * `expiresAt`. If the table already exists it only waits for it.
 */
export async function createTable(client: DynamoDBClient, tableName: string): Promise<void> {
  const def = tableDefinition;
  const keyAttributes = new Set<string>([def.partitionKey, def.sortKey]);
  for (const index of def.indexes) {
    keyAttributes.add(index.partitionKey);
    keyAttributes.add(index.sortKey);
  }
  const attributeDefinitions: AttributeDefinition[] = [...keyAttributes].map((name) => ({
    AttributeName: name,
    AttributeType: "S",
  }));

  try {
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        AttributeDefinitions: attributeDefinitions,
        KeySchema: [
          { AttributeName: def.partitionKey, KeyType: "HASH" },
          { AttributeName: def.sortKey, KeyType: "RANGE" },
        ],
        GlobalSecondaryIndexes: def.indexes.map((index) => ({
          IndexName: index.indexName,
          KeySchema: [
            { AttributeName: index.partitionKey, KeyType: "HASH" },
            { AttributeName: index.sortKey, KeyType: "RANGE" },
          ],
          Projection: { ProjectionType: index.projection },
        })),
        BillingMode: "PAY_PER_REQUEST",
        StreamSpecification: { StreamEnabled: true, StreamViewType: "NEW_AND_OLD_IMAGES" },
      }),
    );
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
    // Already exists (or being created): fall through and wait for it.
  }

  await waitForTableActive(client, tableName);
  await enableTimeToLive(client, tableName, def.timeToLiveAttribute);
}

async function waitForTableActive(client: DynamoDBClient, tableName: string): Promise<void> {
  const deadline = Date.now() + TABLE_ACTIVE_TIMEOUT_MS;
  let delay = 50;
  for (;;) {
    try {
      const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
      const indexesActive = (Table?.GlobalSecondaryIndexes ?? []).every((i) => i.IndexStatus === "ACTIVE");
      if (Table?.TableStatus === "ACTIVE" && indexesActive) return;
    } catch (error) {
      // Eventually consistent right after CreateTable on real DynamoDB.
      if (!(error instanceof ResourceNotFoundException)) throw error;
    }
    if (Date.now() > deadline) throw new Error(`table ${tableName} did not become ACTIVE in time`);
    await sleep(delay);
    delay = Math.min(delay * 2, 5_000);
  }
}

async function enableTimeToLive(client: DynamoDBClient, tableName: string, attribute: string): Promise<void> {
  const { TimeToLiveDescription: ttl } = await client.send(
    new DescribeTimeToLiveCommand({ TableName: tableName }),
  );
  if (ttl?.TimeToLiveStatus === "ENABLED" || ttl?.TimeToLiveStatus === "ENABLING") return;
  try {
    await client.send(
      new UpdateTimeToLiveCommand({
        TableName: tableName,
        TimeToLiveSpecification: { AttributeName: attribute, Enabled: true },
      }),
    );
  } catch (error) {
    // A concurrent caller enabled it first; nothing else is tolerated.
    if (error instanceof Error && /already enabled/i.test(error.message)) return;
    throw error;
  }
}

/** The lanes' queue URLs and their dead-letter queues' URLs, by lane name. */
export interface LaneQueues {
  readonly laneUrls: Record<string, string>;
  readonly deadLetterUrls: Record<string, string>;
}

/**
 * Creates one FIFO queue per lane (`<prefix><lane>.fifo`, attributes from
 * `laneQueueAttributes`), each with a FIFO dead-letter queue (`<prefix><lane>-dlq.fifo`)
 * it redrives to after `laneMaxReceiveCount` receives, as the CDK construct does.
 * CreateQueue with the same name and attributes returns the existing queue, so this is
 * idempotent.
 */
export async function createLanes(
  client: SQSClient,
  prefix: string,
  lanes: readonly LaneDefinition[] = defaultLanes,
): Promise<LaneQueues> {
  const entries = await Promise.all(
    lanes.map(async (lane) => {
      const deadLetterUrl = await createQueue(client, deadLetterQueueName(prefix, lane), {
        FifoQueue: "true",
        MessageRetentionPeriod: laneQueueAttributes.MessageRetentionPeriod,
      });
      const { Attributes } = await client.send(
        new GetQueueAttributesCommand({ QueueUrl: deadLetterUrl, AttributeNames: ["QueueArn"] }),
      );
      const laneUrl = await createQueue(client, laneQueueName(prefix, lane), {
        ...laneQueueAttributes,
        RedrivePolicy: JSON.stringify({
          deadLetterTargetArn: Attributes?.QueueArn,
          maxReceiveCount: laneMaxReceiveCount,
        }),
      });
      return [lane.name, laneUrl, deadLetterUrl] as const;
    }),
  );
  return {
    laneUrls: Object.fromEntries(entries.map(([name, url]) => [name, url])),
    deadLetterUrls: Object.fromEntries(entries.map(([name, , url]) => [name, url])),
  };
}

async function createQueue(
  client: SQSClient,
  name: string,
  attributes: Record<string, string>,
): Promise<string> {
  const { QueueUrl } = await client.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
  if (!QueueUrl) throw new Error(`CreateQueue returned no URL for ${name}`);
  return QueueUrl;
}
