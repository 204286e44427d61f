/**
 * F3: a fixture app with its own jobs file (`fixture/jobs.ts`) synthesizes with the
 * construct, and its bundled worker holds that file's jobs. Bundling is real here
 * (esbuild, about a second per function), once for the whole file. The last test
 * loads the bundled worker as Lambda would and runs a FixtureJob through it against
 * the local emulators (DynamoDB Local and fauxqs from the global setup).
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { connect } from "../../sdk/src/connect.js";
import { createTestResources } from "../support/local-resources.js";
import { app as fixtureApp, fixtureJob } from "./fixture/jobs.js";
import { removeSynthesized, type Synthesized, synthJobSystem } from "./synth.js";

/** The bundle file of a function, from its `aws:asset:path` metadata in the template. */
function bundleOf(synthesized: Synthesized, descriptionPattern: RegExp): string {
  const functions = Object.values(synthesized.template.findResources("AWS::Lambda::Function")) as {
    Properties: { Description: string };
    Metadata: Record<string, string>;
  }[];
  const fn = functions.find((f) => descriptionPattern.test(f.Properties.Description));
  const assetPath = fn?.Metadata["aws:asset:path"];
  if (!assetPath) throw new Error(`no bundled function matching ${descriptionPattern}`);
  return join(synthesized.outdir, assetPath, "index.mjs");
}

afterAll(removeSynthesized);

describe("a fixture app bundled with the construct (F3)", () => {
  let synthesized: Synthesized;
  let workerBundle: string;
  let maintenanceBundle: string;

  beforeAll(() => {
    // Arrange + Act: synthesize with real bundling, once.
    synthesized = synthJobSystem({}, { bundle: true });
    workerBundle = bundleOf(synthesized, /worker/i);
    maintenanceBundle = bundleOf(synthesized, /maintenance/i);
  });

  it("bundles the fixture's jobs into the worker, and not the example jobs", () => {
    const code = readFileSync(workerBundle, "utf8");
    expect(code).toContain('"FixtureJob"');
    expect(code).not.toContain('"AddRandom"'); // examples/jobs.ts is not the entry here
  });

  it("bundles the fixture's jobs into the maintenance function too", () => {
    expect(readFileSync(maintenanceBundle, "utf8")).toContain('"FixtureJob"');
  });

  it("emits ESM with a require shim and a source map without sources", () => {
    const code = readFileSync(workerBundle, "utf8");
    expect(code.startsWith("import { createRequire as __createRequire } from 'node:module';")).toBe(true);
    expect(code).toMatch(/export\s*\{[^}]*handler/);
    const map = JSON.parse(readFileSync(`${workerBundle}.map`, "utf8")) as {
      sources: string[];
      sourcesContent?: unknown;
    };
    expect(map.sources.some((source) => source.endsWith("fixture/jobs.ts"))).toBe(true);
    expect(map.sourcesContent).toBeUndefined();
  });

  it("bundles the AWS SDK in rather than relying on the runtime's copy", () => {
    expect(readFileSync(workerBundle, "utf8")).toContain("TransactWriteItems");
  });

  it("runs a FixtureJob through the bundled worker handler, as Lambda would invoke it", async () => {
    // Arrange: a fresh table and lanes; the bundle reads its configuration from the
    // environment, as on Lambda, with the emulators' endpoints in place of AWS's.
    const resources = await createTestResources();
    Object.assign(process.env, {
      JOBS_TABLE_NAME: resources.tableName,
      JOBS_LANE_URLS: JSON.stringify(resources.laneUrls),
      AWS_ENDPOINT_URL_DYNAMODB: inject("dynamoEndpoint"),
      AWS_ENDPOINT_URL_SQS: inject("sqsEndpoint"),
      AWS_REGION: "us-east-1",
      AWS_ACCESS_KEY_ID: "local",
      AWS_SECRET_ACCESS_KEY: "local",
    });
    expect(existsSync(workerBundle)).toBe(true);
    const { handler } = (await import(pathToFileURL(workerBundle).href)) as {
      handler: (
        event: SQSEvent,
        context: { getRemainingTimeInMillis(): number },
      ) => Promise<SQSBatchResponse>;
    };
    const { client } = connect({ ...resources, app: fixtureApp });
    const run = await client.trigger(fixtureJob, { n: 21 });
    const laneUrl = resources.laneUrls.normal ?? "";
    const received = await resources.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: laneUrl, MaxNumberOfMessages: 1, WaitTimeSeconds: 5 }),
    );
    const message = received.Messages?.[0];
    expect(message?.Body).toContain(run.runId);
    const queueName = laneUrl.split("/").pop() ?? "";

    // Act
    const response = await handler(
      {
        Records: [
          {
            messageId: message?.MessageId ?? "",
            receiptHandle: message?.ReceiptHandle ?? "",
            body: message?.Body ?? "",
            attributes: {
              ApproximateReceiveCount: "1",
              SentTimestamp: String(Date.now()),
              SenderId: "local",
              ApproximateFirstReceiveTimestamp: String(Date.now()),
            },
            messageAttributes: {},
            md5OfBody: message?.MD5OfBody ?? "",
            eventSource: "aws:sqs",
            eventSourceARN: `arn:aws:sqs:us-east-1:000000000000:${queueName}`,
            awsRegion: "us-east-1",
          },
        ],
      },
      { getRemainingTimeInMillis: () => 60_000 },
    );

    // Assert
    expect(response).toEqual({ batchItemFailures: [] });
    const finished = await client.getRun(run.runId);
    expect(finished).toMatchObject({ status: "Succeeded", result: 42, jobName: "FixtureJob" });
  });
});
