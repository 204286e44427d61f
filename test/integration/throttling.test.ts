/**
 * DynamoDB throttling against DynamoDB Local: a throttling error is injected inside the
 * SDK's retry loop (a middleware at the deserialize step, which runs below the retry
 * middleware of the finalizeRequest step), so what recovers is the real retry path.
 */
import {
  DynamoDBClient,
  ProvisionedThroughputExceededException,
  TransactionCanceledException,
} from "@aws-sdk/client-dynamodb";
import { describe, expect, inject, it } from "vitest";
import { localClientConfig } from "../../local/aws-clients.js";
import { connect } from "../../sdk/src/connect.js";
import { JobApp } from "../../sdk/src/jobs/job-app.js";
import { createTestResources } from "../support/local-resources.js";

/**
 * A DynamoDB client on DynamoDB Local that throws `makeError()` for the next `times`
 * requests of `commandName` once armed, and counts every request of that command.
 */
function faultyDynamo(maxAttempts: number, commandName: string, makeError: () => Error) {
  const client = new DynamoDBClient({ ...localClientConfig(inject("dynamoEndpoint")), maxAttempts });
  const state = { armed: 0, requests: 0 };
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === commandName) {
        state.requests++;
        if (state.armed > 0) {
          state.armed--;
          throw makeError();
        }
      }
      return next(args);
    },
    { step: "deserialize", name: "injectDynamoFault" },
  );
  return {
    client,
    state,
    arm(times = 1) {
      state.armed = times;
      state.requests = 0;
    },
  };
}

function throughputExceeded(): Error {
  return Object.assign(
    new ProvisionedThroughputExceededException({
      message: "The level of configured provisioned throughput for the table was exceeded",
      $metadata: { httpStatusCode: 400 },
    }),
    { $retryable: { throttling: true } },
  );
}

async function systemWith(dynamodb: DynamoDBClient, options: { deduplicationId?: string } = {}) {
  const resources = await createTestResources();
  const app = new JobApp();
  const add = app.addJob("Add", ({ a, b }: { a: number; b: number }) => a + b);
  const system = connect({ ...resources, dynamodb, app });
  const run = await system.client.trigger(add, { a: 1, b: 2 }, options);
  return { system, run };
}

describe("DynamoDB throttling", () => {
  it("a ProvisionedThroughputExceededException on GetItem is retried by the SDK and the read succeeds", async () => {
    // Arrange
    const dynamo = faultyDynamo(3, "GetItemCommand", throughputExceeded);
    const { system, run } = await systemWith(dynamo.client);
    dynamo.arm(1);
    // Act
    const item = await system.store.get(run.runId);
    // Assert
    expect(item).toMatchObject({ runId: run.runId, status: "Pending", argsJson: '{"a":1,"b":2}' });
    expect(dynamo.state).toEqual({ armed: 0, requests: 2 });
  });

  it("the same fault fails the read when the SDK may not retry (control)", async () => {
    // Arrange
    const dynamo = faultyDynamo(1, "GetItemCommand", throughputExceeded);
    const { system, run } = await systemWith(dynamo.client);
    dynamo.arm(1);
    // Act
    const error = await system.store.get(run.runId).catch((e: unknown) => e);
    // Assert
    expect(error).toBeInstanceOf(ProvisionedThroughputExceededException);
    expect(dynamo.state.requests).toBe(1);
  });

  it("a transaction canceled for throttling is retried by transactWrite, not by the SDK, and commits", async () => {
    // Arrange: maxAttempts 1, so the SDK retries nothing and any retry is transactWrite's own.
    // Canceling a deduplicated run is a transaction: the run and its lock.
    const dynamo = faultyDynamo(
      1,
      "TransactWriteItemsCommand",
      () =>
        new TransactionCanceledException({
          message:
            "Transaction cancelled, please refer cancellation reasons for specific reasons [ThrottlingError, None]",
          $metadata: { httpStatusCode: 400 },
          CancellationReasons: [{ Code: "ThrottlingError" }, { Code: "None" }],
        }),
    );
    const { system, run } = await systemWith(dynamo.client, { deduplicationId: "once" });
    dynamo.arm(2);
    // Act
    const outcome = await system.client.cancel(run.runId, { reason: "test" });
    // Assert: two canceled transactions, then the commit
    expect(outcome).toEqual({ runId: run.runId, canceled: true, status: "Canceled" });
    expect(dynamo.state).toEqual({ armed: 0, requests: 3 });
    expect(await system.store.get(run.runId)).toMatchObject({
      status: "Canceled",
      cancelReason: "test",
      seq: 2, // Pending, then one Canceled event: the retried transaction committed once
    });
  });
});
