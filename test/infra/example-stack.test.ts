/**
 * The example stack (`infra/example-stack.ts`) and app (`cdk.json` → `infra/app.ts`):
 * its outputs, and F1, `cdk synth` with no AWS credentials and no network (this machine
 * has none), through the real CLI as the deploy guide runs it, with CDK's built-in
 * CloudFormation validation on (the in-process syntheses turn it off for speed).
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { App } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { ExampleStack } from "../../infra/example-stack.js";

const run = promisify(execFile);

describe("the example stack", () => {
  let template: Template;

  beforeAll(() => {
    // Arrange + Act: no bundling (fixture-app.test.ts covers bundles).
    const app = new App({
      builtinCloudFormationValidation: false,
      context: { "aws:cdk:bundling-stacks": [] },
    });
    template = Template.fromStack(new ExampleStack(app, "Example"));
  });

  it("outputs what a client needs: table, lane URLs, schedule group, scheduler role, worker, WebSocket URL and token secret", () => {
    const outputs = template.findOutputs("*");
    expect(Object.keys(outputs).sort()).toEqual(
      [
        "LaneUrls",
        "ScheduleGroupName",
        "SchedulerRoleArn",
        "TableName",
        "WorkerFunctionName",
        "WebSocketUrl",
        "WebSocketTokenSecretArn",
      ].sort(),
    );
    expect(JSON.stringify(outputs.WebSocketUrl?.Value)).toMatch(/wss:\/\/.*execute-api.*\/live/);
    expect(outputs.WebSocketTokenSecretArn?.Value).toEqual({
      Ref: expect.stringMatching(/^JobsRealtimeWebSocketToken/),
    });
    expect(outputs.TableName?.Value).toEqual({ Ref: expect.stringMatching(/^Jobs/) });
    expect(JSON.stringify(outputs.LaneUrls?.Value)).toMatch(/high.*normal.*low/);
  });

  it("deletes its data with the stack (it is a demo)", () => {
    template.hasResource("AWS::DynamoDB::Table", { DeletionPolicy: "Delete" });
    template.allResources("AWS::SQS::Queue", { DeletionPolicy: "Delete" });
  });

  it("hard-codes no account, region or partition", () => {
    const json = JSON.stringify(template.toJSON());
    expect(json).not.toMatch(/\b\d{12}\b/); // no account id
    expect(json).not.toMatch(
      /\b(us|eu|ap|sa|ca|me|af|il|mx)-(east|west|north|south|central|northeast|southeast)-\d\b/,
    );
    expect(json).not.toContain("arn:aws:");
  });
});

describe("npx cdk synth (F1)", () => {
  it("synthesizes the example app with no AWS credentials or configuration", {
    timeout: 180_000,
  }, async () => {
    // Arrange: the environment without any AWS variable.
    // (Instance metadata is ruled out too: synth must not look for credentials anywhere.)
    const env = {
      ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("AWS_"))),
      AWS_EC2_METADATA_DISABLED: "true",
    };
    const outdir = mkdtempSync(join(tmpdir(), "jobs-cdk-synth-"));
    onTestFinished(() => rmSync(outdir, { recursive: true, force: true }));

    // Act
    await run("npx", ["cdk", "synth", "--quiet", "--output", outdir], { env, cwd: process.cwd() });

    // Assert
    const synthesized = Template.fromJSON(
      JSON.parse(readFileSync(join(outdir, "SluiceJobsExample.template.json"), "utf8")) as Record<
        string,
        unknown
      >,
    );
    synthesized.resourceCountIs("AWS::DynamoDB::Table", 1);
    synthesized.resourceCountIs("AWS::Lambda::Function", 5);
    synthesized.resourceCountIs("AWS::Lambda::EventSourceMapping", 5); // three lanes, two stream consumers
    synthesized.resourceCountIs("AWS::CloudWatch::Alarm", 14);
    synthesized.resourceCountIs("AWS::SQS::Queue", 7);
    synthesized.resourceCountIs("AWS::ApiGatewayV2::Api", 1);
    synthesized.resourceCountIs("AWS::SecretsManager::Secret", 1);
    expect(Object.keys(synthesized.findOutputs("*"))).toHaveLength(7);
    // CDK's built-in CloudFormation validation (schema and lint rules) found nothing.
    const report = JSON.parse(readFileSync(join(outdir, "validation-report.json"), "utf8")) as {
      pluginReports: unknown[];
    };
    expect(report.pluginReports).toEqual([]);
  });
});
