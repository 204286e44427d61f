/**
 * The claim when the store goes away mid-request (aws-sdk-client-mock on the document
 * client): a try without an answer may have committed, so the claim is tried again
 * until the store answers, and a failed condition on this very claim means it did
 * commit. A refused first try (throttled) is thrown as it is; giving up names the run,
 * the attempt and the operation.
 */
import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  ProvisionedThroughputExceededException,
} from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { marshall } from "@aws-sdk/util-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { RunWriteError } from "../../sdk/src/errors.js";
import { type ClaimRequest, claimRun } from "../../sdk/src/store/claim.js";
import type { RunItem } from "../../sdk/src/store/run-item.js";
import { RunStore } from "../../sdk/src/store/run-store.js";
import { createdMs, runningItem } from "../unit/run-item-factory.js";

const doc = DynamoDBDocumentClient.from(
  new DynamoDBClient({ region: "us-east-1", credentials: { accessKeyId: "x", secretAccessKey: "x" } }),
);
const dynamo = mockClient(doc);
const store = new RunStore({ doc, tableName: "jobs" });
const now = createdMs + 10_000;
const request: ClaimRequest = { runId: "R1", attempt: 0, workerId: "w1", nowMs: now };

const hungUp = () => Object.assign(new Error("socket hang up"), { code: "ECONNRESET" });
const refused = () =>
  Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:43677"), {
    code: "ECONNREFUSED",
    $metadata: { attempts: 4 },
  });
const conditionFailedOn = (item: RunItem) =>
  new ConditionalCheckFailedException({ message: "failed", $metadata: {}, Item: marshall(item) });

describe("claimRun when the store goes away", () => {
  beforeEach(() => dynamo.reset());

  it("a claim committed by a try whose answer was lost is claimed once the store answers", async () => {
    // Arrange: the first try committed (its answer lost), the store is then away twice
    const committed = runningItem(1, { runId: "R1", workerId: "w1", startedMs: now });
    dynamo
      .on(UpdateCommand)
      .rejectsOnce(hungUp())
      .rejectsOnce(refused())
      .rejectsOnce(refused())
      .rejects(conditionFailedOn(committed));
    // Act
    const outcome = await claimRun(store, request);
    // Assert: the same update each time, and this worker holds the run
    expect(outcome).toEqual({ claimed: committed });
    const inputs = dynamo.commandCalls(UpdateCommand).map((c) => c.args[0].input);
    expect(inputs).toHaveLength(4);
    expect(new Set(inputs.map((i) => JSON.stringify(i))).size).toBe(1);
  });

  it("a lost answer followed by another claim (another worker, or an earlier start) is not claimed", async () => {
    // Arrange
    for (const other of [
      runningItem(1, { runId: "R1", workerId: "w2", startedMs: now }),
      runningItem(1, { runId: "R1", workerId: "w1", startedMs: now - 1 }),
    ]) {
      dynamo.reset();
      dynamo.on(UpdateCommand).rejectsOnce(hungUp()).rejects(conditionFailedOn(other));
      // Act / Assert
      expect(await claimRun(store, request)).toEqual({ current: other });
    }
  });

  it("a throttled first try was not applied: it is thrown as it is, tried once", async () => {
    // Arrange
    const throttled = new ProvisionedThroughputExceededException({ message: "slow down", $metadata: {} });
    dynamo.on(UpdateCommand).rejects(throttled);
    // Act / Assert
    await expect(claimRun(store, request)).rejects.toBe(throttled);
    expect(dynamo.commandCalls(UpdateCommand)).toHaveLength(1);
  });

  it("gives up with RunWriteError naming the run, the attempt and the claim", async () => {
    // Arrange: the store never answers; no wait
    dynamo.on(UpdateCommand).rejects(refused());
    // Act
    const error = await claimRun(store, request, 0).catch((e: unknown) => e);
    // Assert
    expect(error).toBeInstanceOf(RunWriteError);
    expect(error).toMatchObject({ runId: "R1", attempt: 1, operation: "claim" });
    expect((error as Error).message).toBe(
      "run R1 (attempt 1): could not claim: connect ECONNREFUSED 127.0.0.1:43677",
    );
    expect((error as Error).cause).toMatchObject({ code: "ECONNREFUSED" });
  });
});
