/**
 * The Lambda adapter (`createSqsWorkerHandler`) on the local emulators: real runs in a
 * real table, real lane messages (received from fauxqs, so receipt handles are real),
 * wrapped in a synthetic SQS event. A batch item failure means "leave this message in
 * the queue": an infrastructure error or a run not yet due. A job that fails is a
 * processed message.
 */

import { DynamoDBClient, ProvisionedThroughputExceededException } from "@aws-sdk/client-dynamodb";
import {
  ChangeMessageVisibilityCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import type { SQSEvent, SQSRecord } from "aws-lambda";
import { describe, expect, inject, it } from "vitest";
import { localClientConfig } from "../../local/aws-clients.js";
import { environmentVariables } from "../../sdk/src/config/environment.js";
import { connect } from "../../sdk/src/connect.js";
import { JobApp } from "../../sdk/src/jobs/job-app.js";
import { createWorkerLambdaHandler } from "../../sdk/src/lambda/handlers.js";
import { createSqsWorkerHandler } from "../../sdk/src/lambda/sqs-worker-handler.js";
import { jobsPk } from "../../sdk/src/store/keys.js";
import { RunStore } from "../../sdk/src/store/run-store.js";
import { WorkerCore } from "../../sdk/src/worker/worker-core.js";
import { createTestResources } from "../support/local-resources.js";

const lambdaContext = { getRemainingTimeInMillis: () => 60_000 };

/** A store whose every request on one run's item fails (the claim is the first of them). */
class StoreFailingFor extends RunStore {
  readonly failure = new Error("injected: DynamoDB request failed");
  constructor(base: RunStore, failingRunId: string) {
    const failure = new Error("injected: DynamoDB request failed");
    const doc = new Proxy(base.doc, {
      get(target, property, receiver) {
        if (property !== "send") return Reflect.get(target, property, receiver);
        return (command: { input?: { Key?: { pk?: string } } }, ...rest: unknown[]) =>
          command.input?.Key?.pk === `RUN#${failingRunId}`
            ? Promise.reject(failure)
            : (target.send as (...args: unknown[]) => Promise<unknown>)(command, ...rest);
      },
    });
    super({ doc, tableName: base.tableName });
    this.failure = failure;
  }
}

/** Records every command sent through `sqs` (they still go through). */
function recordSends(sqs: SQSClient): unknown[] {
  const sent: unknown[] = [];
  const realSend = sqs.send.bind(sqs) as (command: unknown, ...rest: unknown[]) => Promise<unknown>;
  sqs.send = ((command: unknown, ...rest: unknown[]) => {
    sent.push(command);
    return realSend(command, ...rest);
  }) as SQSClient["send"];
  return sent;
}

async function setUp() {
  const resources = await createTestResources();
  const now = Date.now();
  const app = new JobApp();
  const add = app.addJob("Add", ({ a, b }: { a: number; b: number }) => a + b);
  const fail = app.addJob("Fail", () => {
    throw new RangeError("out of range");
  });
  const clock = () => now;
  const system = connect({ ...resources, app, client: { now: clock } });
  const laneUrl = system.dispatcher.laneFor({ priority: 0 }).queueUrl;
  const queueArn = `arn:aws:sqs:us-east-1:000000000000:${laneUrl.split("/").pop()}`;
  const coreWith = (store: RunStore) =>
    new WorkerCore({
      app,
      store,
      dispatcher: system.dispatcher,
      client: system.client,
      now: clock,
      leaseMs: 3_000,
    });

  /** Receives the lane messages of `runIds` (hiding them, as the event source mapping does) as SQS records. */
  async function recordsFor(runIds: string[]): Promise<Map<string, SQSRecord>> {
    const records = new Map<string, SQSRecord>();
    for (let round = 0; round < 20 && records.size < runIds.length; round++) {
      const out = await resources.sqs.send(
        new ReceiveMessageCommand({ QueueUrl: laneUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
      );
      for (const message of out.Messages ?? []) {
        const runId = JSON.parse(message.Body ?? "{}").runId as string;
        records.set(runId, toRecord(message, queueArn, now));
      }
    }
    expect([...records.keys()].sort()).toEqual([...runIds].sort());
    return records;
  }
  return { app, resources, system, add, fail, laneUrl, now, coreWith, recordsFor };
}

function toRecord(message: Message, queueArn: string, now: number): SQSRecord {
  return {
    messageId: message.MessageId ?? "",
    receiptHandle: message.ReceiptHandle ?? "",
    body: message.Body ?? "",
    attributes: {
      ApproximateReceiveCount: "1",
      SentTimestamp: String(now),
      SenderId: "local",
      ApproximateFirstReceiveTimestamp: String(now),
    },
    messageAttributes: {},
    md5OfBody: message.MD5OfBody ?? "",
    eventSource: "aws:sqs",
    eventSourceARN: queueArn,
    awsRegion: "us-east-1",
  };
}

const event = (...records: (SQSRecord | undefined)[]): SQSEvent => ({
  Records: records.map((r) => {
    if (!r) throw new Error("missing record");
    return r;
  }),
});

describe("createSqsWorkerHandler", () => {
  it("reports exactly the record whose processing threw, and runs the others", async () => {
    // Arrange
    const { system, add, coreWith, recordsFor } = await setUp();
    const runs = await Promise.all([
      system.client.trigger(add, { a: 1, b: 1 }),
      system.client.trigger(add, { a: 2, b: 2 }),
      system.client.trigger(add, { a: 3, b: 3 }),
    ]);
    const [ok1, broken, ok2] = runs.map((r) => r.runId) as [string, string, string];
    const records = await recordsFor([ok1, broken, ok2]);
    const store = new StoreFailingFor(system.store, broken);
    const errors: [unknown, SQSRecord][] = [];
    const handler = createSqsWorkerHandler({
      core: coreWith(store),
      dispatcher: system.dispatcher,
      onError: (error, record) => errors.push([error, record]),
    });
    // Act
    const response = await handler(
      event(records.get(ok1), records.get(broken), records.get(ok2)),
      lambdaContext,
    );
    // Assert
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: records.get(broken)?.messageId }]);
    expect(errors).toEqual([[store.failure, records.get(broken)]]);
    expect(await system.store.get(ok1)).toMatchObject({ status: "Succeeded", attempt: 1, resultJson: "2" });
    expect(await system.store.get(ok2)).toMatchObject({ status: "Succeeded", attempt: 1, resultJson: "6" });
    expect(await system.store.get(broken)).toMatchObject({ status: "Pending", attempt: 0, seq: 1 });
  });

  it("reports a run that is not due yet and hides its message until it is", async () => {
    // Arrange
    const { resources, system, add, laneUrl, now, coreWith, recordsFor } = await setUp();
    const later = await system.client.trigger(add, { a: 1, b: 2 }, { notBefore: new Date(now + 600_000) });
    const records = await recordsFor([later.runId]);
    const record = records.get(later.runId);
    const sent = recordSends(resources.sqs);
    const errors: unknown[] = [];
    const handler = createSqsWorkerHandler({
      core: coreWith(system.store),
      dispatcher: system.dispatcher,
      onError: (error) => errors.push(error),
    });
    // Act
    const response = await handler(event(record), lambdaContext);
    // Assert
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: record?.messageId }]);
    expect(errors).toEqual([]);
    const visibility = sent.filter(
      (c): c is ChangeMessageVisibilityCommand => c instanceof ChangeMessageVisibilityCommand,
    );
    expect(visibility.map((c) => c.input)).toEqual([
      { QueueUrl: laneUrl, ReceiptHandle: record?.receiptHandle, VisibilityTimeout: 600 },
    ]);
    expect(await system.store.get(later.runId)).toMatchObject({ status: "Pending", attempt: 0 });
  });

  it("hands a run back at the deadline margin without a failed attempt, and the next invocation completes it", async () => {
    // Arrange: no retries, so a failed attempt would end the run for good
    const { system, resources, laneUrl, now } = await setUp();
    const app = new JobApp();
    const long = app.addJob("Long", async (_: undefined, ctx) => {
      if (ctx.attempt > 1) return "done";
      await new Promise((_, reject) => ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason)));
    });
    const lambda = connect({ ...resources, app, client: { now: () => now } });
    const run = await lambda.client.trigger(long);
    const core = new WorkerCore({
      app,
      store: lambda.store,
      dispatcher: lambda.dispatcher,
      client: lambda.client,
      leaseMs: 3_000,
    });
    const handler = createSqsWorkerHandler({ core, dispatcher: lambda.dispatcher, deadlineMarginMs: 500 });
    const receive = async () => {
      for (let i = 0; i < 20; i++) {
        const out = await resources.sqs.send(
          new ReceiveMessageCommand({ QueueUrl: laneUrl, MaxNumberOfMessages: 1, WaitTimeSeconds: 1 }),
        );
        const message = out.Messages?.[0];
        if (message)
          return toRecord(message, `arn:aws:sqs:us-east-1:000000000000:${laneUrl.split("/").pop()}`, now);
      }
      throw new Error("no message");
    };
    // Act: an invocation with 1.5 s left; the handler's signal aborts 0.5 s before that
    const first = await handler(event(await receive()), { getRemainingTimeInMillis: () => 1_500 });
    const handedBack = await system.store.get(run.runId);
    const second = await handler(event(await receive()), lambdaContext);
    // Assert
    expect(first.batchItemFailures).toEqual([]);
    expect(handedBack).toMatchObject({ status: "Pending", attempt: 1, handBacks: 1 });
    expect(handedBack?.error).toBeUndefined();
    expect(second.batchItemFailures).toEqual([]);
    expect(await lambda.client.getRun(run.runId)).toMatchObject({
      status: "Succeeded",
      attempt: 2,
      result: "done",
    });
  });

  it("treats a failing job as a processed message, not a batch item failure", async () => {
    // Arrange
    const { system, fail, coreWith, recordsFor } = await setUp();
    const run = await system.client.trigger(fail);
    const records = await recordsFor([run.runId]);
    const handler = createSqsWorkerHandler({ core: coreWith(system.store), dispatcher: system.dispatcher });
    // Act
    const response = await handler(event(records.get(run.runId)), lambdaContext);
    // Assert
    expect(response.batchItemFailures).toEqual([]);
    expect(await system.store.get(run.runId)).toMatchObject({
      status: "Failed",
      attempt: 1,
      error: { type: "RangeError", message: "out of range" },
    });
  });

  it("drops a record that is not a run message rather than redelivering it forever", async () => {
    // Arrange
    const { system, coreWith } = await setUp();
    const garbage = toRecord(
      { MessageId: "m-1", ReceiptHandle: "rh-1", Body: "not json" },
      "arn:aws:sqs:x:y:z",
      0,
    );
    const handler = createSqsWorkerHandler({ core: coreWith(system.store), dispatcher: system.dispatcher });
    // Act
    const response = await handler(event(garbage), lambdaContext);
    // Assert
    expect(response).toEqual({ batchItemFailures: [] });
  });
});

/**
 * A DynamoDB client on the local emulator whose job record writes (`PutItem` on pk
 * `JOBS`, what `registerJobs` sends) go through `fault` first: it may throw, or hold
 * the write until it resolves. Every other request goes through untouched.
 */
function clientWithRegistrationFault(fault: () => Promise<void>): DynamoDBClient {
  const client = new DynamoDBClient(localClientConfig(inject("dynamoEndpoint")));
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as { Item?: { pk?: { S?: string } } };
      if (context.commandName === "PutItemCommand" && input.Item?.pk?.S === jobsPk) await fault();
      return next(args);
    },
    { step: "build", name: "injectRegistrationFault" },
  );
  return client;
}

describe("createWorkerLambdaHandler", () => {
  async function lambdaSetUp(fault: () => Promise<void>) {
    const base = await setUp();
    const env = {
      [environmentVariables.tableName]: base.resources.tableName,
      [environmentVariables.laneUrls]: JSON.stringify(base.resources.laneUrls),
    };
    const dynamodb = clientWithRegistrationFault(fault);
    const handler = createWorkerLambdaHandler(base.app, env, { dynamodb, sqs: base.resources.sqs });
    return { ...base, handler };
  }

  it("writes the job records on the next invocation after a failed write, and runs both invocations' messages", async () => {
    // Arrange: the first invocation's job record writes are throttled.
    let throttle = true;
    const { system, add, handler, recordsFor } = await lambdaSetUp(async () => {
      if (throttle) {
        throw new ProvisionedThroughputExceededException({ message: "injected: throttled", $metadata: {} });
      }
    });
    const [first, second] = await Promise.all([
      system.client.trigger(add, { a: 1, b: 2 }),
      system.client.trigger(add, { a: 3, b: 4 }),
    ]);
    const records = await recordsFor([first.runId, second.runId]);
    // Act
    const firstResponse = await handler(event(records.get(first.runId)), lambdaContext);
    const namesAfterFirst = await system.store.jobNames();
    throttle = false;
    const secondResponse = await handler(event(records.get(second.runId)), lambdaContext);
    // Assert
    expect(firstResponse).toEqual({ batchItemFailures: [] });
    expect(namesAfterFirst).toEqual([]);
    expect(secondResponse).toEqual({ batchItemFailures: [] });
    expect((await system.store.jobNames()).sort()).toEqual(["Add", "Fail"]);
    expect(await system.store.get(first.runId)).toMatchObject({ status: "Succeeded", resultJson: "3" });
    expect(await system.store.get(second.runId)).toMatchObject({ status: "Succeeded", resultJson: "7" });
  });

  it("processes the batch while the job records are still being written", async () => {
    // Arrange: the job record writes hang until released.
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const { system, add, handler, recordsFor } = await lambdaSetUp(() => held);
    const run = await system.client.trigger(add, { a: 5, b: 6 });
    const records = await recordsFor([run.runId]);
    // Act
    const invocation = handler(event(records.get(run.runId)), lambdaContext);
    let status: string | undefined;
    for (let i = 0; i < 200 && status !== "Succeeded"; i++) {
      await new Promise((r) => setTimeout(r, 25));
      status = (await system.store.get(run.runId))?.status;
    }
    const namesWhileHeld = await system.store.jobNames();
    release();
    // Assert: the run finished while the write was held; the invocation ends after the write.
    expect(status).toBe("Succeeded");
    expect(namesWhileHeld).toEqual([]);
    expect(await invocation).toEqual({ batchItemFailures: [] });
    expect((await system.store.jobNames()).sort()).toEqual(["Add", "Fail"]);
  });
});
