import {
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
} from "@aws-sdk/client-sqs";
import { describe, expect, it } from "vitest";
import { RequestCounter } from "../../sdk/src/metrics/request-counter.js";
import { DeleteBatcher } from "../../sdk/src/queue/delete-batcher.js";
import { createTestResources } from "../support/local-resources.js";

describe("DeleteBatcher on the SQS emulator", () => {
  it("deletes 23 received messages with 3 DeleteMessageBatch requests", async () => {
    const { sqs, laneUrls } = await createTestResources();
    const queueUrl = laneUrls.normal as string;
    for (let i = 0; i < 23; i += 10)
      await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: Array.from({ length: Math.min(10, 23 - i) }, (_, j) => ({
            Id: String(j),
            MessageBody: `m${i + j}`,
            MessageGroupId: `g${i + j}`,
            MessageDeduplicationId: `d${i + j}`,
          })),
        }),
      );
    const handles: string[] = [];
    while (handles.length < 23) {
      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
      );
      for (const m of Messages) handles.push(m.ReceiptHandle as string);
    }
    const counter = new RequestCounter();
    counter.attach(sqs, "SQS");
    const errors: unknown[] = [];
    const batcher = new DeleteBatcher(sqs, { lingerMs: 60_000, onError: (e) => errors.push(e) });
    for (const handle of handles) batcher.delete(queueUrl, handle);
    await batcher.flush();
    expect(counter.table()).toEqual({ "SQS.DeleteMessageBatch": 3 });
    expect(errors).toEqual([]);
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: queueUrl,
        AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
      }),
    );
    expect(Attributes).toEqual({
      ApproximateNumberOfMessages: "0",
      ApproximateNumberOfMessagesNotVisible: "0",
    });
  });

  it("sends a lone delete after its linger, without a flush", async () => {
    const { sqs, laneUrls } = await createTestResources();
    const queueUrl = laneUrls.normal as string;
    await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: [{ Id: "0", MessageBody: "x", MessageGroupId: "g", MessageDeduplicationId: "d" }],
      }),
    );
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 1, WaitTimeSeconds: 1 }),
    );
    const counter = new RequestCounter();
    counter.attach(sqs, "SQS");
    const batcher = new DeleteBatcher(sqs, { lingerMs: 10, onError: () => undefined });
    batcher.delete(queueUrl, Messages[0]?.ReceiptHandle as string);
    await expect.poll(() => counter.table()).toEqual({ "SQS.DeleteMessageBatch": 1 });
  });
});
