/**
 * The table stream's two consumers, StreamDispatch (wake-ups, timers, fanout) and
 * Projections (aggregates): their event source mappings (infinite retries, filters),
 * their grants, and the two-consumer limit of `JobsTable`. Synthesized without bundling.
 */
import { App, RemovalPolicy, Stack } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import * as kms from "aws-cdk-lib/aws-kms";
import * as lambda from "aws-cdk-lib/aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JobsTable } from "../../infra/jobs-table.js";
import { appliedBatchKey, countsKey, dedupKey, runKey } from "../../sdk/src/store/keys.js";
import { asList, removeSynthesized, renderResource, statementsOfRole, synthJobSystem } from "./synth.js";

type Resources = Record<string, { Type: string; Properties: Record<string, unknown> }>;

function resourcesOf(template: Template, type: string): Resources {
  return template.findResources(type) as Resources;
}

function functionId(template: Template, description: RegExp): string {
  const found = Object.entries(resourcesOf(template, "AWS::Lambda::Function")).filter(([, f]) =>
    description.test(String(f.Properties.Description)),
  );
  expect(found).toHaveLength(1);
  return found[0]?.[0] as string;
}

function tableId(template: Template): string {
  const [id, ...others] = Object.keys(resourcesOf(template, "AWS::DynamoDB::Table"));
  expect(others).toEqual([]);
  return id as string;
}

/** The event source mappings reading the table's stream. */
function streamMappings(template: Template): Resources[string]["Properties"][] {
  return Object.values(resourcesOf(template, "AWS::Lambda::EventSourceMapping"))
    .map((m) => m.Properties)
    .filter((p) => JSON.stringify(p.EventSourceArn).includes("StreamArn"));
}

function mappingOf(template: Template, description: RegExp) {
  const fn = functionId(template, description);
  const found = streamMappings(template).filter((p) => JSON.stringify(p.FunctionName) === `{"Ref":"${fn}"}`);
  expect(found).toHaveLength(1);
  return found[0];
}

/** Every action a role's policies allow. */
function actionsOf(template: Template, rolePrefix: string): string[] {
  return statementsOfRole(template, rolePrefix).flatMap((s) => asList(s.Action).map(String));
}

afterAll(removeSynthesized);

describe("the table stream's consumers (default props)", () => {
  let template: Template;

  beforeAll(() => {
    ({ template } = synthJobSystem());
  });

  it("reads the stream with exactly two mappings, the stream dispatch's and the projections'", () => {
    const functions = streamMappings(template).map((p) => (p.FunctionName as { Ref: string }).Ref);
    expect(functions.sort()).toEqual(
      [functionId(template, /stream dispatch/), functionId(template, /projections/)].sort(),
    );
  });

  it("feeds the stream dispatch from the oldest record, 100 at a time with no batching window, retrying forever with bisection and partial batch responses, inserts and updates of runs, events, batch records and batch events only", () => {
    expect(mappingOf(template, /stream dispatch/)).toEqual({
      FunctionName: { Ref: functionId(template, /stream dispatch/) },
      EventSourceArn: { "Fn::GetAtt": [tableId(template), "StreamArn"] },
      StartingPosition: "TRIM_HORIZON",
      BatchSize: 100,
      MaximumRetryAttempts: -1,
      MaximumRecordAgeInSeconds: -1,
      BisectBatchOnFunctionError: true,
      FunctionResponseTypes: ["ReportBatchItemFailures"],
      FilterCriteria: {
        Filters: [
          {
            Pattern: JSON.stringify({
              eventName: ["INSERT", "MODIFY"],
              dynamodb: { NewImage: { kind: { S: ["run", "event", "batch", "batchEvents"] } } },
            }),
          },
        ],
      },
    });
  });

  it("feeds the projections from the oldest record, up to 1,000 gathered for 60 s, retrying forever with bisection and partial batch responses, run writes and deletes only", () => {
    expect(mappingOf(template, /projections/)).toEqual({
      FunctionName: { Ref: functionId(template, /projections/) },
      EventSourceArn: { "Fn::GetAtt": [tableId(template), "StreamArn"] },
      StartingPosition: "TRIM_HORIZON",
      BatchSize: 1000,
      MaximumBatchingWindowInSeconds: 60,
      MaximumRetryAttempts: -1,
      MaximumRecordAgeInSeconds: -1,
      BisectBatchOnFunctionError: true,
      FunctionResponseTypes: ["ReportBatchItemFailures"],
      FilterCriteria: {
        Filters: [
          { Pattern: JSON.stringify({ dynamodb: { NewImage: { kind: { S: ["run"] } } } }) },
          // A deleted run (TTL) leaves its status's count.
          {
            Pattern: JSON.stringify({
              eventName: ["REMOVE"],
              dynamodb: { OldImage: { kind: { S: ["run"] } } },
            }),
          },
        ],
      },
    });
  });

  it("lets the stream dispatch send wake-ups, manage the timers' schedules, pass the scheduler role and read runs and subscriptions", () => {
    const statements = statementsOfRole(template, "JobsStreamDispatchRole");
    const byAction = (action: string) => statements.filter((s) => asList(s.Action).includes(action));
    const lanes = Object.entries(resourcesOf(template, "AWS::SQS::Queue"))
      .filter(([, q]) => q.Properties.RedrivePolicy !== undefined)
      .map(([id]) => `\${GetAtt:${id}.Arn}`);

    expect(byAction("sqs:SendMessage").map((s) => asList(s.Resource).map(renderResource))).toEqual([lanes]);
    expect(asList(byAction("scheduler:CreateSchedule")[0]?.Action)).toEqual([
      "scheduler:CreateSchedule",
      "scheduler:DeleteSchedule",
    ]);
    expect(renderResource(byAction("scheduler:CreateSchedule")[0]?.Resource)).toMatch(
      /:schedule\/[\w-]+\/\*$/,
    );
    expect(byAction("iam:PassRole")).toEqual([
      {
        Action: "iam:PassRole",
        Effect: "Allow",
        Resource: { "Fn::GetAtt": [expect.stringMatching(/^JobsTimersSchedulerRole/), "Arn"] },
        Condition: { StringEquals: { "iam:PassedToService": "scheduler.amazonaws.com" } },
      },
    ]);
    // Reads on the table only (no index), once although both the dispatch and the fanout need them.
    const table = { "Fn::GetAtt": [tableId(template), "Arn"] };
    expect(byAction("dynamodb:GetItem")).toEqual([
      { Action: ["dynamodb:GetItem", "dynamodb:Query"], Effect: "Allow", Resource: table },
    ]);
  });

  it("lets the stream dispatch cancel children and drive batches: query byParent, read run items in batches, write run, batch, lock and marker items, free dedup locks only", () => {
    const statements = statementsOfRole(template, "JobsStreamDispatchRole");
    const byAction = (action: string) => statements.filter((s) => asList(s.Action).includes(action));
    const table = { "Fn::GetAtt": [tableId(template), "Arn"] };
    const queries = byAction("dynamodb:Query").find((s) => asList(s.Resource).length > 1);
    expect(asList(queries?.Resource).map(renderResource)).toEqual([
      renderResource(table),
      `${renderResource(table)}/index/byParent`,
    ]);
    expect(byAction("dynamodb:BatchGetItem")).toEqual([
      { Action: "dynamodb:BatchGetItem", Effect: "Allow", Resource: table },
    ]);
    expect(byAction("dynamodb:UpdateItem")).toEqual([
      {
        Action: ["dynamodb:UpdateItem", "dynamodb:PutItem"],
        Effect: "Allow",
        Resource: table,
        Condition: {
          "ForAllValues:StringLike": { "dynamodb:LeadingKeys": ["RUN#*", "BATCH#*", "DEDUP#*", "AGGB#*"] },
        },
      },
    ]);
    expect(byAction("dynamodb:DeleteItem")).toEqual([
      {
        Action: "dynamodb:DeleteItem",
        Effect: "Allow",
        Resource: table,
        Condition: { "ForAllValues:StringLike": { "dynamodb:LeadingKeys": ["DEDUP#*"] } },
      },
      {
        Action: ["dynamodb:PutItem", "dynamodb:DeleteItem"],
        Effect: "Allow",
        Resource: table,
        Condition: { "ForAllValues:StringLike": { "dynamodb:LeadingKeys": ["LIMIT#*"] } },
      },
    ]);
    // The prefixes are the SDK's keys.
    expect(runKey("r").pk.startsWith("RUN#")).toBe(true);
    expect(dedupKey("Add", "d").pk.startsWith("DEDUP#")).toBe(true);
    const other = actionsOf(template, "JobsStreamDispatchRole").filter((a) =>
      /^dynamodb:(ConditionCheckItem|Scan)$/.test(a),
    );
    expect(other).toEqual([]);
  });

  it("lets the projections update run counts items (AGG#job#, AGG#queue#) and put batch markers (AGGB#), nothing else of the table", () => {
    const dynamo = statementsOfRole(template, "JobsProjectionsRole").filter((s) =>
      asList(s.Action).some((a) =>
        /^dynamodb:(?!ListStreams|DescribeStream|GetRecords|GetShardIterator)/.test(String(a)),
      ),
    );
    const table = { "Fn::GetAtt": [tableId(template), "Arn"] };
    expect(dynamo).toEqual([
      {
        Action: "dynamodb:UpdateItem",
        Effect: "Allow",
        Resource: table,
        Condition: { "ForAllValues:StringLike": { "dynamodb:LeadingKeys": ["AGG#job#*", "AGG#queue#*"] } },
      },
      {
        Action: "dynamodb:PutItem",
        Effect: "Allow",
        Resource: table,
        Condition: { "ForAllValues:StringLike": { "dynamodb:LeadingKeys": ["AGGB#*"] } },
      },
    ]);
    // The prefixes are the SDK's keys.
    expect(countsKey("job", "Add").pk.startsWith("AGG#job#")).toBe(true);
    expect(appliedBatchKey("shard", "1").pk.startsWith("AGGB#")).toBe(true);
    const actions = actionsOf(template, "JobsProjectionsRole");
    expect(actions.filter((a) => !a.startsWith("dynamodb:") && !a.startsWith("logs:"))).toEqual([]);
  });

  it("lets both consumers read the stream (its ARN) and list streams, as every stream event source must", () => {
    for (const role of ["JobsStreamDispatchRole", "JobsProjectionsRole"]) {
      const reads = statementsOfRole(template, role).filter((s) =>
        asList(s.Action).includes("dynamodb:GetRecords"),
      );
      expect(reads).toEqual([
        {
          Action: ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"],
          Effect: "Allow",
          Resource: { "Fn::GetAtt": [tableId(template), "StreamArn"] },
        },
      ]);
      expect(actionsOf(template, role)).toContain("dynamodb:ListStreams");
    }
  });
});

describe("the stream consumers with webSocket: false", () => {
  it("keeps both, and the dispatch, with no API to push to, gets no callback URL and no connection rights", () => {
    // Arrange + Act
    const { template, jobs } = synthJobSystem({ webSocket: false });

    // Assert
    expect(Object.keys(jobs.functions)).toContain("StreamDispatch");
    expect(Object.keys(jobs.functions)).toContain("Projections");
    expect(streamMappings(template)).toHaveLength(2);
    const dispatch = resourcesOf(template, "AWS::Lambda::Function")[functionId(template, /stream dispatch/)];
    const environment = dispatch?.Properties.Environment as { Variables?: object } | undefined;
    expect(environment?.Variables).not.toHaveProperty("JOBS_WS_CALLBACK_URL");
    const actions = actionsOf(template, "JobsStreamDispatchRole");
    expect(actions).toEqual(
      expect.arrayContaining(["sqs:SendMessage", "scheduler:CreateSchedule", "iam:PassRole"]),
    );
    expect(actions).not.toContain("execute-api:ManageConnections");
    expect(actions).not.toContain("dynamodb:BatchWriteItem");
  });
});

describe("the stream consumers with a customer managed key", () => {
  it("may use the key for table items and lane messages, and decrypt the stream", () => {
    // Arrange
    const keyArn = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd";

    // Act
    const { template } = synthJobSystem((stack) => ({
      encryptionKey: kms.Key.fromKeyArn(stack, "Key", keyArn),
    }));

    // Assert
    for (const role of ["JobsStreamDispatchRole", "JobsProjectionsRole"]) {
      const keyStatements = statementsOfRole(template, role).filter((s) => s.Resource === keyArn);
      expect(keyStatements.flatMap((s) => asList(s.Action))).toEqual(
        expect.arrayContaining(["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"]),
      );
    }
  });
});

describe("JobsTable on its own", () => {
  it("refuses a third stream consumer (more than two readers of a shard are throttled)", () => {
    // Arrange
    const stack = new Stack(new App(), "Alone");
    const table = new JobsTable(stack, "Table", {
      removalPolicy: RemovalPolicy.DESTROY,
      pointInTimeRecovery: false,
    });
    const consumer = (id: string) =>
      new lambda.Function(stack, id, {
        runtime: lambda.Runtime.NODEJS_22_X,
        handler: "index.handler",
        code: lambda.Code.fromInline("export const handler = async () => ({ batchItemFailures: [] });"),
      });
    const options = {
      batchSize: 10,
      filters: [lambda.FilterCriteria.filter({ eventName: lambda.FilterRule.isEqual("INSERT") })],
    };
    table.addStreamConsumer(consumer("First"), options);
    table.addStreamConsumer(consumer("Second"), options);

    // Act + Assert
    expect(() => table.addStreamConsumer(consumer("Third"), options)).toThrow(
      /Alone\/Table stream: has 2 consumers already/,
    );
    expect(table.streamConsumers).toHaveLength(2);
    Template.fromStack(stack).resourceCountIs("AWS::Lambda::EventSourceMapping", 2);
  });
});
