/**
 * Creates the table and the lanes from their shared definitions (see
 * `sdk/src/store/table-definition.ts` and `sdk/src/queue/lane-definitions.ts`).
 * Both functions are idempotent and work against DynamoDB Local / fauxqs, LocalStack and
 * real AWS. A table or queue that exists with settings the job system cannot use is
 * refused with a {@link ResourceMismatchError} naming it and what differs.
 */
import {
  type AttributeDefinition,
  CreateTableCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  type DynamoDBClient,
  ResourceInUseException,
  ResourceNotFoundException,
  type TableDescription,
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
import { ResourceMismatchError } from "./errors.js";

const TABLE_ACTIVE_TIMEOUT_MS = 5 * 60_000;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Creates the table (keys, GSIs with the definition's projection, on-demand billing, streams with
 * new and old images), waits until it and its indexes are ACTIVE, and enables TTL on
 * `expiresAt`. If the table already exists it waits for it and checks it: other keys, a
 * missing or different index, no stream of new and old images, or TTL on another
 * attribute throw {@link ResourceMismatchError}.
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

  const table = await waitForTableActive(client, tableName);
  const differences = tableDifferences(table);
  const ttl = await enableTimeToLive(client, tableName, def.timeToLiveAttribute);
  if (ttl !== def.timeToLiveAttribute) {
    differences.push(`expected TTL on ${def.timeToLiveAttribute}, found it on ${ttl}`);
  }
  if (differences.length > 0) {
    throw new ResourceMismatchError(
      `table "${tableName}"`,
      differences,
      "use another table name, or delete that table",
    );
  }
}

const describeKeys = (keys: readonly { AttributeName?: string; KeyType?: string }[] | undefined) =>
  (keys ?? []).map((k) => `${k.AttributeName} ${k.KeyType}`).join(", ") || "none";

/** How `table` differs from the table definition: what the job system needs, not extras (more indexes are fine). */
function tableDifferences(table: TableDescription): string[] {
  const def = tableDefinition;
  const differences: string[] = [];
  const keys = describeKeys([
    { AttributeName: def.partitionKey, KeyType: "HASH" },
    { AttributeName: def.sortKey, KeyType: "RANGE" },
  ]);
  const foundKeys = describeKeys(table.KeySchema);
  if (foundKeys !== keys) differences.push(`expected keys ${keys}, found ${foundKeys}`);
  for (const index of def.indexes) {
    const found = table.GlobalSecondaryIndexes?.find((i) => i.IndexName === index.indexName);
    if (!found) {
      differences.push(`index ${index.indexName} is missing`);
      continue;
    }
    const indexKeys = describeKeys([
      { AttributeName: index.partitionKey, KeyType: "HASH" },
      { AttributeName: index.sortKey, KeyType: "RANGE" },
    ]);
    if (describeKeys(found.KeySchema) !== indexKeys) {
      differences.push(
        `expected index ${index.indexName} on ${indexKeys}, found ${describeKeys(found.KeySchema)}`,
      );
    }
    if (found.Projection?.ProjectionType !== index.projection) {
      differences.push(
        `expected index ${index.indexName} to project ${index.projection}, found ${found.Projection?.ProjectionType}`,
      );
    }
  }
  const stream = table.StreamSpecification;
  if (!stream?.StreamEnabled || stream.StreamViewType !== "NEW_AND_OLD_IMAGES") {
    differences.push(
      `expected a stream of NEW_AND_OLD_IMAGES, found ${stream?.StreamEnabled ? stream.StreamViewType : "no stream"}`,
    );
  }
  return differences;
}

async function waitForTableActive(client: DynamoDBClient, tableName: string): Promise<TableDescription> {
  const deadline = Date.now() + TABLE_ACTIVE_TIMEOUT_MS;
  let delay = 50;
  for (;;) {
    try {
      const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
      const indexesActive = (Table?.GlobalSecondaryIndexes ?? []).every((i) => i.IndexStatus === "ACTIVE");
      if (Table?.TableStatus === "ACTIVE" && indexesActive) return Table;
    } catch (error) {
      // Eventually consistent right after CreateTable on real DynamoDB.
      if (!(error instanceof ResourceNotFoundException)) throw error;
    }
    if (Date.now() > deadline) throw new Error(`table ${tableName} did not become ACTIVE in time`);
    await sleep(delay);
    delay = Math.min(delay * 2, 5_000);
  }
}

/** Enables TTL on `attribute` unless TTL is on already; returns the attribute TTL is on. */
async function enableTimeToLive(
  client: DynamoDBClient,
  tableName: string,
  attribute: string,
): Promise<string> {
  const { TimeToLiveDescription: ttl } = await client.send(
    new DescribeTimeToLiveCommand({ TableName: tableName }),
  );
  if (ttl?.TimeToLiveStatus === "ENABLED" || ttl?.TimeToLiveStatus === "ENABLING") {
    return ttl.AttributeName ?? attribute;
  }
  try {
    await client.send(
      new UpdateTimeToLiveCommand({
        TableName: tableName,
        TimeToLiveSpecification: { AttributeName: attribute, Enabled: true },
      }),
    );
  } catch (error) {
    // A concurrent caller enabled it first; nothing else is tolerated.
    if (error instanceof Error && /already enabled/i.test(error.message)) return attribute;
    throw error;
  }
  return attribute;
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
 * idempotent; an existing queue with other attributes throws {@link ResourceMismatchError}.
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
  let QueueUrl: string | undefined;
  try {
    ({ QueueUrl } = await client.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes })));
  } catch (error) {
    // SQS's QueueNameExists ("…a different value for attribute VisibilityTimeout").
    if (error instanceof Error && /QueueNameExists|QueueAlreadyExists/.test(error.name)) {
      throw new ResourceMismatchError(
        `queue "${name}"`,
        [error.message],
        "use another queue prefix, or delete that queue",
        { cause: error },
      );
    }
    throw error;
  }
  if (!QueueUrl) throw new Error(`CreateQueue returned no URL for ${name}`);
  return QueueUrl;
}
