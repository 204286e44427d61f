/**
 * Deletes that SQS refuses (aws-sdk-client-mock: the emulator accepts any receipt
 * handle, AWS answers `ReceiptHandleIsInvalid` per entry or fails the whole request):
 * each failure reaches `onError`, and nothing is retried in a loop.
 */
import { DeleteMessageBatchCommand, SQSClient } from "@aws-sdk/client-sqs";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { DeleteBatcher } from "../../sdk/src/queue/delete-batcher.js";

const sqs = new SQSClient({ region: "us-east-1", credentials: { accessKeyId: "x", secretAccessKey: "x" } });
const queue = mockClient(sqs);

describe("DeleteBatcher faults", () => {
  beforeEach(() => queue.reset());

  it("reports each failed entry of a batch", async () => {
    queue.on(DeleteMessageBatchCommand).resolves({
      Successful: [{ Id: "0" }],
      Failed: [{ Id: "1", Code: "ReceiptHandleIsInvalid", SenderFault: true, Message: "bad handle" }],
    });
    const errors: unknown[] = [];
    const batcher = new DeleteBatcher(sqs, { onError: (e) => errors.push(e) });
    batcher.delete("q/normal.fifo", "h0");
    batcher.delete("q/normal.fifo", "h1");
    await batcher.flush();
    expect(queue.commandCalls(DeleteMessageBatchCommand)).toHaveLength(1);
    expect(String(errors[0])).toContain("ReceiptHandleIsInvalid");
    expect(errors).toHaveLength(1);
  });

  it("reports a failed request once and sends each queue's handles apart", async () => {
    queue.on(DeleteMessageBatchCommand).rejects(new Error("ThrottlingException"));
    const errors: unknown[] = [];
    const batcher = new DeleteBatcher(sqs, { onError: (e) => errors.push(e) });
    batcher.delete("q/high.fifo", "a");
    batcher.delete("q/normal.fifo", "b");
    await batcher.flush();
    const calls = queue.commandCalls(DeleteMessageBatchCommand).map((c) => c.args[0].input.QueueUrl);
    expect(calls.sort()).toEqual(["q/high.fifo", "q/normal.fifo"]);
    expect(errors).toHaveLength(2);
  });
});
