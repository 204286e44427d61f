/**
 * Provisioning against services that already hold a table or queue of the same name
 * (issue 12, external endpoints): settings the job system cannot use are refused in one
 * line that names the resource and what differs.
 */
import { CreateTableCommand } from "@aws-sdk/client-dynamodb";
import { CreateQueueCommand } from "@aws-sdk/client-sqs";
import { describe, expect, it } from "vitest";
import { ResourceMismatchError } from "../../local/errors.js";
import { createLanes, createTable } from "../../local/provision.js";
import { createTestResources } from "../support/local-resources.js";

describe("an existing table or queue with other settings", () => {
  it("a table without the indexes and the stream is named with what differs", async () => {
    const { dynamodb, prefix } = await createTestResources();
    const tableName = `${prefix}other`;
    await dynamodb.send(
      new CreateTableCommand({
        TableName: tableName,
        AttributeDefinitions: [{ AttributeName: "id", AttributeType: "S" }],
        KeySchema: [{ AttributeName: "id", KeyType: "HASH" }],
        BillingMode: "PAY_PER_REQUEST",
      }),
    );

    const error = await createTable(dynamodb, tableName).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ResourceMismatchError);
    const message = (error as Error).message;
    expect(message).not.toContain("\n");
    expect(message).toMatch(new RegExp(`^table "${tableName}" exists with other settings \\(`));
    expect(message).toContain("expected keys pk HASH, sk RANGE, found id HASH");
    expect(message).toContain("index byJob is missing");
    expect(message).toContain("expected a stream of NEW_AND_OLD_IMAGES, found no stream");
    expect(message).toMatch(/: use another table name, or delete that table$/);
    dynamodb.destroy();
  });

  it("a lane queue with another visibility timeout is named with the attribute", async () => {
    const { sqs, prefix } = await createTestResources();
    const other = `${prefix}x-`;
    await sqs.send(
      new CreateQueueCommand({
        QueueName: `${other}normal.fifo`,
        Attributes: { FifoQueue: "true", VisibilityTimeout: "5" },
      }),
    );

    const error = await createLanes(sqs, other).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ResourceMismatchError);
    expect((error as Error).message).toMatch(
      new RegExp(
        `^queue "${other}normal\\.fifo" exists with other settings \\(.*VisibilityTimeout.*\\): use another queue prefix, or delete that queue$`,
      ),
    );
    sqs.destroy();
  });
});
