/**
 * A polling worker whose lanes are unreachable (a stub SQS client whose every request
 * fails, as during an outage): it pauses between failed receives, doubling the pause,
 * and `stop()` cuts the pause short, so a container stopped during an outage exits at
 * once instead of after its pause (up to 10 s). Fake timers: no wall-clock time.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { SQSClient } from "@aws-sdk/client-sqs";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { JobClient } from "../../sdk/src/client/job-client.js";
import { JobApp } from "../../sdk/src/jobs/job-app.js";
import { Dispatcher } from "../../sdk/src/queue/dispatcher.js";
import { defaultLanes } from "../../sdk/src/queue/lane-definitions.js";
import { RunStore } from "../../sdk/src/store/run-store.js";
import { PollingWorker } from "../../sdk/src/worker/polling-worker.js";

afterEach(() => {
  vi.useRealTimers();
});

function unreachableWorker(errors: unknown[]): PollingWorker {
  const sqs = {
    send: async () => {
      throw Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:9324"), { code: "ECONNREFUSED" });
    },
  } as unknown as SQSClient;
  const doc = DynamoDBDocumentClient.from(
    new DynamoDBClient({ region: "us-east-1", credentials: { accessKeyId: "x", secretAccessKey: "x" } }),
  );
  return new PollingWorker({
    app: new JobApp(),
    store: new RunStore({ doc, tableName: "jobs" }),
    dispatcher: new Dispatcher(
      sqs,
      defaultLanes.map((lane) => ({ ...lane, queueUrl: `https://sqs.local/${lane.name}.fifo` })),
    ),
    client: {} as JobClient,
    onError: (error) => errors.push(error),
  });
}

describe("a polling worker during a lane outage", () => {
  it("backs off between failed receives, and stop() ends its pause at once", async () => {
    vi.useFakeTimers();
    const errors: unknown[] = [];
    const worker = unreachableWorker(errors).start();
    // Pauses of 100–200, 200–400, 400–800 and 800–1,600 ms: four failures within 3 s, not dozens.
    await vi.advanceTimersByTimeAsync(3_000);
    expect(errors.length).toBeGreaterThanOrEqual(3);
    expect(errors.length).toBeLessThanOrEqual(5);
    expect(String(errors[0])).toContain("ECONNREFUSED");
    // Now in a pause of at least 400 ms: stop() resolves with 1 ms of (fake) time passing.
    let stopped = false;
    const stopping = worker.stop().then(() => {
      stopped = true;
    });
    await vi.advanceTimersByTimeAsync(1);
    expect(stopped).toBe(true);
    await stopping;
  });
});
