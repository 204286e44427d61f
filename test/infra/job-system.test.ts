/**
 * The JobSystem construct's template: table, lanes, functions, event sources,
 * schedules, alarms and validation. Synthesized without bundling (fast); the bundle
 * itself is tested in fixture-app.test.ts.
 */
import { Duration, Lazy, RemovalPolicy } from "aws-cdk-lib";
import { Match, type Template } from "aws-cdk-lib/assertions";
import * as kms from "aws-cdk-lib/aws-kms";
import * as lambda from "aws-cdk-lib/aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { entrySource } from "../../infra/handler-entries.js";
import { laneMaxReceiveCount } from "../../infra/lanes.js";
import { defaultLanes, laneQueueAttributes } from "../../sdk/src/queue/lane-definitions.js";
import { tableDefinition } from "../../sdk/src/store/table-definition.js";
import { fixtureJobsEntry, removeSynthesized, statementsOfRole, synthJobSystem } from "./synth.js";

type Resources = Record<string, { Type: string; Properties: Record<string, unknown> }>;

function resourcesOf(template: Template, type: string): Resources {
  return template.findResources(type) as Resources;
}

function onlyResource(template: Template, type: string) {
  const all = Object.entries(resourcesOf(template, type));
  expect(all).toHaveLength(1);
  const [logicalId, resource] = all[0] ?? [];
  return { logicalId: logicalId as string, properties: resource?.Properties ?? {} };
}

/**
 * The lane queues (those with a redrive policy), their dead-letter queues (FIFO, no
 * redrive) and the schedule dead-letter queue (the standard one), by logical id.
 */
function queuesOf(template: Template) {
  const queues = Object.entries(resourcesOf(template, "AWS::SQS::Queue"));
  return {
    lanes: queues.filter(([, q]) => q.Properties.RedrivePolicy !== undefined),
    deadLetterQueues: queues.filter(
      ([, q]) => q.Properties.RedrivePolicy === undefined && q.Properties.FifoQueue,
    ),
    scheduleDeadLetterQueues: queues.filter(([, q]) => !q.Properties.FifoQueue),
  };
}

/** The event source mappings reading SQS queues (the worker's), not the table stream (the stream consumers'). */
function sqsMappings(template: Template): Resources[string][] {
  return Object.values(resourcesOf(template, "AWS::Lambda::EventSourceMapping")).filter(
    (m) => (m.Properties.EventSourceArn as { "Fn::GetAtt"?: string[] })["Fn::GetAtt"]?.[1] === "Arn",
  );
}

function functionLogicalId(template: Template, description: RegExp): string {
  const found = Object.entries(resourcesOf(template, "AWS::Lambda::Function")).filter(([, f]) =>
    description.test(String(f.Properties.Description)),
  );
  expect(found).toHaveLength(1);
  return found[0]?.[0] as string;
}

/** The environment variables of the function with logical id `id`. */
function variablesOf(template: Template, id: string): Record<string, unknown> {
  const fn = resourcesOf(template, "AWS::Lambda::Function")[id];
  return (fn?.Properties.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {};
}

/** A JSON `{ lane: queue URL }` variable, each URL rendered as its queue's logical id. */
function laneUrlMap(value: unknown): Record<string, string> {
  const parts = (value as { "Fn::Join": [string, unknown[]] } | undefined)?.["Fn::Join"][1] ?? [];
  const rendered = parts
    .map((part) => (typeof part === "string" ? part : `"${(part as { Ref: string }).Ref}"`))
    .join("")
    .replaceAll('""', '"');
  return JSON.parse(rendered) as Record<string, string>;
}

afterAll(removeSynthesized);

describe("JobSystem with default props", () => {
  let template: Template;

  beforeAll(() => {
    // Arrange + Act: one synthesis shared by the read-only assertions below.
    ({ template } = synthJobSystem());
  });

  it("creates the table from tableDefinition: keys, indexes, stream, TTL, PITR, encryption", () => {
    const { properties } = onlyResource(template, "AWS::DynamoDB::Table");
    expect(properties.KeySchema).toEqual([
      { AttributeName: tableDefinition.partitionKey, KeyType: "HASH" },
      { AttributeName: tableDefinition.sortKey, KeyType: "RANGE" },
    ]);
    expect(properties.BillingMode).toBe("PAY_PER_REQUEST");
    expect(properties.GlobalSecondaryIndexes).toEqual(
      tableDefinition.indexes.map((index) => ({
        IndexName: index.indexName,
        KeySchema: [
          { AttributeName: index.partitionKey, KeyType: "HASH" },
          { AttributeName: index.sortKey, KeyType: "RANGE" },
        ],
        Projection: { ProjectionType: index.projection },
      })),
    );
    const keyAttributes = new Set([
      tableDefinition.partitionKey,
      tableDefinition.sortKey,
      ...tableDefinition.indexes.flatMap((i) => [i.partitionKey, i.sortKey]),
    ]);
    expect(properties.AttributeDefinitions).toEqual(
      expect.arrayContaining([...keyAttributes].map((name) => ({ AttributeName: name, AttributeType: "S" }))),
    );
    expect(properties.AttributeDefinitions).toHaveLength(keyAttributes.size);
    expect(properties.StreamSpecification).toEqual({ StreamViewType: "NEW_AND_OLD_IMAGES" });
    expect(properties.TimeToLiveSpecification).toEqual({
      AttributeName: tableDefinition.timeToLiveAttribute,
      Enabled: true,
    });
    expect(properties.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
    // SSEEnabled without a key: the AWS managed key aws/dynamodb (not the AWS owned default).
    expect(properties.SSESpecification).toEqual({ SSEEnabled: true });
  });

  it("projects only the keys into each index (byJob, byParent, byLater): a run's later writes touch no index", () => {
    const { properties } = onlyResource(template, "AWS::DynamoDB::Table");
    const indexes = properties.GlobalSecondaryIndexes as { IndexName: string; Projection: unknown }[];
    expect(indexes.map((index) => index.IndexName)).toEqual(["byJob", "byParent", "byLater"]);
    for (const index of indexes) expect(index.Projection).toEqual({ ProjectionType: "KEYS_ONLY" });
  });

  it("retains the table and the lanes by default", () => {
    template.hasResource("AWS::DynamoDB::Table", { DeletionPolicy: "Retain", UpdateReplacePolicy: "Retain" });
    for (const [, queue] of Object.entries(template.findResources("AWS::SQS::Queue"))) {
      expect(queue).toMatchObject({ DeletionPolicy: "Retain" });
    }
  });

  it("creates one FIFO lane per default lane, each redriving to its own FIFO dead-letter queue", () => {
    const { lanes, deadLetterQueues } = queuesOf(template);
    expect(lanes).toHaveLength(defaultLanes.length);
    expect(deadLetterQueues).toHaveLength(defaultLanes.length);
    const deadLetterIds = new Set(deadLetterQueues.map(([id]) => id));
    const targets = new Set<string>();
    for (const [, lane] of lanes) {
      expect(lane.Properties).toMatchObject({
        FifoQueue: true,
        ContentBasedDeduplication: JSON.parse(laneQueueAttributes.ContentBasedDeduplication),
        MessageRetentionPeriod: Number(laneQueueAttributes.MessageRetentionPeriod),
        SqsManagedSseEnabled: true,
      });
      const redrive = lane.Properties.RedrivePolicy as { deadLetterTargetArn: { "Fn::GetAtt": string[] } };
      const target = redrive.deadLetterTargetArn["Fn::GetAtt"][0] as string;
      expect(deadLetterIds.has(target)).toBe(true);
      expect(redrive).toMatchObject({ maxReceiveCount: laneMaxReceiveCount });
      targets.add(target);
    }
    expect(targets.size).toBe(lanes.length); // one dead-letter queue per lane, none shared
    for (const [, dlq] of deadLetterQueues) expect(dlq.Properties).toMatchObject({ FifoQueue: true });
  });

  it("makes every lane a high-throughput FIFO queue (deduplication and throughput per message group), not its dead-letter queue", () => {
    const { lanes, deadLetterQueues } = queuesOf(template);
    for (const [, lane] of lanes) {
      expect(lane.Properties).toMatchObject({
        DeduplicationScope: "messageGroup",
        FifoThroughputLimit: "perMessageGroupId",
      });
      // The same attributes as the local stack's lanes.
      expect(lane.Properties.DeduplicationScope).toBe(laneQueueAttributes.DeduplicationScope);
      expect(lane.Properties.FifoThroughputLimit).toBe(laneQueueAttributes.FifoThroughputLimit);
    }
    for (const [, dlq] of deadLetterQueues) {
      expect(dlq.Properties.DeduplicationScope).toBeUndefined();
      expect(dlq.Properties.FifoThroughputLimit).toBeUndefined();
    }
  });

  it("names each queue <prefix><lane>.fifo, with the prefix shared and SQS's 80 characters respected", () => {
    const { lanes, deadLetterQueues } = queuesOf(template);
    const names = [...lanes, ...deadLetterQueues].map(([, q]) => String(q.Properties.QueueName));
    for (const lane of defaultLanes) {
      expect(names.filter((n) => n.endsWith(`-${lane.name}.fifo`))).toHaveLength(1);
      expect(names.filter((n) => n.endsWith(`-${lane.name}-dlq.fifo`))).toHaveLength(1);
    }
    for (const name of names) expect(name).toMatch(/^[A-Za-z0-9_-]{1,75}\.fifo$/);
    expect(new Set(names.map((n) => n.replace(/-[a-z]+(-dlq)?\.fifo$/, ""))).size).toBe(1);
  });

  it("sets each lane's visibility timeout to the worker's timeout plus 60 seconds (default 5 minutes: 360 s)", () => {
    const workerId = functionLogicalId(template, /worker/i);
    const timeout = Number(resourcesOf(template, "AWS::Lambda::Function")[workerId]?.Properties.Timeout);
    expect(timeout).toBe(300);
    for (const [, lane] of queuesOf(template).lanes) {
      expect(lane.Properties.VisibilityTimeout).toBe(timeout + 60);
    }
  });

  it("runs every function (worker, maintenance, WebSocket, stream dispatch, projections) on nodejs22.x with ESM bundles and the client environment", () => {
    const functions = Object.values(resourcesOf(template, "AWS::Lambda::Function"));
    expect(functions).toHaveLength(5);
    for (const fn of functions) {
      expect(fn.Properties).toMatchObject({
        Runtime: "nodejs22.x",
        Handler: "index.handler",
        Architectures: ["arm64"],
        Environment: {
          Variables: {
            JOBS_TABLE_NAME: { Ref: onlyResource(template, "AWS::DynamoDB::Table").logicalId },
            JOBS_LANE_URLS: expect.anything(),
            JOBS_SCHEDULE_GROUP_NAME: expect.anything(),
            JOBS_SCHEDULER_ROLE_ARN: expect.anything(),
            JOBS_SCHEDULER_DLQ_ARN: {
              "Fn::GetAtt": [queuesOf(template).scheduleDeadLetterQueues[0]?.[0], "Arn"],
            },
            JOBS_RETENTION_SECONDS: String(30 * 24 * 3600),
            NODE_OPTIONS: "--enable-source-maps",
          },
        },
        LoggingConfig: { LogGroup: { Ref: expect.stringMatching(/Logs/) } },
      });
    }
    template.hasResourceProperties("AWS::Lambda::Function", {
      Description: Match.stringLikeRegexp("worker"),
      MemorySize: 1024,
      Timeout: 300,
      RecursiveLoop: "Allow",
    });
    template.hasResourceProperties("AWS::Lambda::Function", {
      Description: Match.stringLikeRegexp("maintenance"),
      Timeout: 60,
    });
  });

  it("puts every lane's URL, by lane name, in JOBS_LANE_URLS", () => {
    const parsed = laneUrlMap(variablesOf(template, functionLogicalId(template, /worker/i)).JOBS_LANE_URLS);
    expect(Object.keys(parsed)).toEqual(defaultLanes.map((l) => l.name));
    const laneIds = queuesOf(template).lanes.map(([id]) => id);
    expect(Object.values(parsed).sort()).toEqual(laneIds.sort());
  });

  it("feeds the worker from every lane with partial batch failures and a maximum concurrency", () => {
    const workerId = functionLogicalId(template, /worker/i);
    const mappings = sqsMappings(template);
    expect(mappings).toHaveLength(defaultLanes.length);
    const sources = new Set<string>();
    for (const mapping of mappings) {
      expect(mapping.Properties).toMatchObject({
        FunctionName: { Ref: workerId },
        BatchSize: 10,
        FunctionResponseTypes: ["ReportBatchItemFailures"],
        ScalingConfig: { MaximumConcurrency: 10 },
      });
      sources.add(
        (mapping.Properties.EventSourceArn as { "Fn::GetAtt": string[] })["Fn::GetAtt"][0] as string,
      );
    }
    expect([...sources].sort()).toEqual(
      queuesOf(template)
        .lanes.map(([id]) => id)
        .sort(),
    );
  });

  it("invokes the maintenance function every minute through EventBridge Scheduler", () => {
    const maintenanceId = functionLogicalId(template, /maintenance/i);
    const { properties } = onlyResource(template, "AWS::Scheduler::Schedule");
    expect(properties).toMatchObject({
      ScheduleExpression: "rate(1 minute)",
      State: "ENABLED",
      FlexibleTimeWindow: { Mode: "OFF" },
      Target: {
        Arn: { "Fn::GetAtt": [maintenanceId, "Arn"] },
        RetryPolicy: { MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 60 },
      },
    });
    expect(properties.GroupName).toBeUndefined(); // not in the group clients may write to
  });

  it("reserves a concurrency of 1 for the maintenance function (one pass at a time), and none for the others", () => {
    const maintenanceId = functionLogicalId(template, /maintenance/i);
    for (const [id, fn] of Object.entries(resourcesOf(template, "AWS::Lambda::Function"))) {
      expect(fn.Properties.ReservedConcurrentExecutions).toBe(id === maintenanceId ? 1 : undefined);
    }
  });

  it("lets the maintenance function receive and delete the lanes' dead letters, and gives it their URLs by lane", () => {
    const statements = statementsOfRole(template, "JobsMaintenanceRole");
    const { lanes, deadLetterQueues } = queuesOf(template);
    const arns = (queues: typeof lanes) => queues.map(([id]) => ({ "Fn::GetAtt": [id, "Arn"] }));
    expect(statements).toContainEqual({
      Action: ["sqs:ReceiveMessage", "sqs:DeleteMessage"],
      Effect: "Allow",
      Resource: arns(deadLetterQueues),
    });
    // It sends them back to their lanes (the client grant's SendMessage), and consumes no lane.
    expect(statements).toContainEqual({ Action: "sqs:SendMessage", Effect: "Allow", Resource: arns(lanes) });
    expect(statements.filter((st) => JSON.stringify(st.Action).includes("sqs:ReceiveMessage"))).toHaveLength(
      1,
    );

    const parsed = laneUrlMap(
      variablesOf(template, functionLogicalId(template, /maintenance/i)).JOBS_DEAD_LETTER_URLS,
    );
    expect(Object.keys(parsed)).toEqual(defaultLanes.map((l) => l.name));
    expect(Object.values(parsed).sort()).toEqual(deadLetterQueues.map(([id]) => id).sort());
    expect(variablesOf(template, functionLogicalId(template, /worker/i))).not.toHaveProperty(
      "JOBS_DEAD_LETTER_URLS",
    );
  });

  it("creates the schedule group and a role only its schedules can assume, allowed to send to the lanes", () => {
    const group = onlyResource(template, "AWS::Scheduler::ScheduleGroup");
    const roles = Object.entries(resourcesOf(template, "AWS::IAM::Role")).filter(([, role]) =>
      JSON.stringify(role.Properties.AssumeRolePolicyDocument).includes(group.logicalId),
    );
    expect(roles).toHaveLength(1);
    const [roleId, role] = roles[0] ?? [];
    expect(role?.Properties.AssumeRolePolicyDocument).toEqual({
      Version: "2012-10-17",
      Statement: [
        {
          Action: "sts:AssumeRole",
          Effect: "Allow",
          Principal: { Service: "scheduler.amazonaws.com" },
          Condition: {
            StringEquals: {
              "aws:SourceAccount": { Ref: "AWS::AccountId" },
              "aws:SourceArn": { "Fn::GetAtt": [group.logicalId, "Arn"] },
            },
          },
        },
      ],
    });
    const policies = Object.values(resourcesOf(template, "AWS::IAM::Policy")).filter((p) =>
      JSON.stringify(p.Properties.Roles).includes(String(roleId)),
    );
    const statements = policies.flatMap(
      (p) => (p.Properties.PolicyDocument as { Statement: Record<string, unknown>[] }).Statement,
    );
    const laneIds = queuesOf(template).lanes.map(([id]) => id);
    const [scheduleDlqId] = queuesOf(template).scheduleDeadLetterQueues.map(([id]) => id);
    const maintenanceId = functionLogicalId(template, /maintenance/i);
    expect(statements).toEqual([
      {
        Action: "sqs:SendMessage",
        Effect: "Allow",
        Resource: laneIds.map((id) => ({ "Fn::GetAtt": [id, "Arn"] })),
      },
      { Action: "sqs:SendMessage", Effect: "Allow", Resource: { "Fn::GetAtt": [scheduleDlqId, "Arn"] } },
      {
        Action: "lambda:InvokeFunction",
        Effect: "Allow",
        Resource: { "Fn::GetAtt": [maintenanceId, "Arn"] },
      },
    ]);
  });

  it("gives every function but the expiry target (maintenance) the expiry target's ARN", () => {
    const maintenanceId = functionLogicalId(template, /maintenance/i);
    const workerId = functionLogicalId(template, /worker/i);
    const variables = (id: string) => variablesOf(template, id);
    expect(variables(workerId)).toMatchObject({
      JOBS_SCHEDULER_EXPIRY_TARGET_ARN: { "Fn::GetAtt": [maintenanceId, "Arn"] },
    });
    expect(variables(maintenanceId)).not.toHaveProperty("JOBS_SCHEDULER_EXPIRY_TARGET_ARN");
  });

  it("keeps a standard, encrypted dead-letter queue for schedules that could not be delivered", () => {
    const [entry, ...others] = queuesOf(template).scheduleDeadLetterQueues;
    expect(others).toEqual([]);
    expect(entry?.[1].Properties).toEqual({
      MessageRetentionPeriod: 14 * 24 * 3600,
      SqsManagedSseEnabled: true,
    });
  });

  it("keeps function logs in their own log groups for a month", () => {
    const groups = Object.values(resourcesOf(template, "AWS::Logs::LogGroup"));
    expect(groups).toHaveLength(5);
    for (const group of groups) expect(group.Properties.RetentionInDays).toBe(30);
  });

  it("alarms on dead letters and oldest message age per lane, each function's errors and each stream consumer's lag", () => {
    const alarms = Object.values(resourcesOf(template, "AWS::CloudWatch::Alarm")).map((a) => a.Properties);
    expect(alarms).toHaveLength(2 * defaultLanes.length + 1 + 5 + 2);
    const { lanes, deadLetterQueues, scheduleDeadLetterQueues } = queuesOf(template);
    const queueNameOf = (alarm: Record<string, unknown>) =>
      ((alarm.Dimensions as { Value: { "Fn::GetAtt": string[] } }[])[0]?.Value["Fn::GetAtt"] ?? [])[0];

    const deadLetter = alarms.filter((a) => a.MetricName === "ApproximateNumberOfMessagesVisible");
    expect(deadLetter.map(queueNameOf).sort()).toEqual(
      [...deadLetterQueues, ...scheduleDeadLetterQueues].map(([id]) => id).sort(),
    );
    for (const alarm of deadLetter) {
      expect(alarm).toMatchObject({
        Threshold: 0,
        ComparisonOperator: "GreaterThanThreshold",
        Namespace: "AWS/SQS",
      });
    }

    const age = alarms.filter((a) => a.MetricName === "ApproximateAgeOfOldestMessage");
    expect(age.map(queueNameOf).sort()).toEqual(lanes.map(([id]) => id).sort());
    for (const alarm of age) expect(alarm).toMatchObject({ Threshold: 30 * 60, Statistic: "Maximum" });

    const errors = alarms.filter((a) => a.MetricName === "Errors");
    expect(errors).toHaveLength(5);
    for (const alarm of errors) {
      expect(alarm).toMatchObject({
        Namespace: "AWS/Lambda",
        Threshold: 1,
        ComparisonOperator: "GreaterThanOrEqualToThreshold",
        TreatMissingData: "notBreaching",
      });
    }

    const lag = alarms.filter((a) => a.MetricName === "IteratorAge");
    const functionOf = (alarm: Record<string, unknown>) =>
      (alarm.Dimensions as { Name: string; Value: { Ref: string } }[])[0]?.Value.Ref;
    expect(lag.map(functionOf).sort()).toEqual(
      [functionLogicalId(template, /stream dispatch/), functionLogicalId(template, /projections/)].sort(),
    );
    for (const alarm of lag) {
      expect(alarm).toMatchObject({
        Namespace: "AWS/Lambda",
        Statistic: "Maximum",
        Period: 60,
        Threshold: 15 * 60 * 1000, // IteratorAge is in milliseconds
        ComparisonOperator: "GreaterThanThreshold",
      });
    }
  });

  it("emits no outputs (stacks add them)", () => {
    expect(Object.keys(template.findOutputs("*"))).toEqual([]);
  });
});

describe("JobSystem with non-default props", () => {
  it("derives lane visibility (timeout + 60 s) and the function timeout from workerTimeout", () => {
    // Arrange + Act
    const { template } = synthJobSystem({ workerTimeout: Duration.minutes(12) });

    // Assert
    template.hasResourceProperties("AWS::Lambda::Function", {
      Description: Match.stringLikeRegexp("worker"),
      Timeout: 720,
    });
    const { lanes } = queuesOf(template);
    expect(lanes).toHaveLength(defaultLanes.length);
    for (const [, lane] of lanes) expect(lane.Properties.VisibilityTimeout).toBe(720 + 60);
  });

  it("applies memory, concurrency, retention, PITR, removal policy, log retention and alarm age", () => {
    // Arrange + Act
    const { template } = synthJobSystem({
      workerMemorySize: 2048,
      workerMaxConcurrency: 50,
      retention: Duration.days(7),
      pointInTimeRecovery: false,
      removalPolicy: RemovalPolicy.DESTROY,
      logRetention: 7,
      oldestMessageAlarmAge: Duration.hours(2),
    });

    // Assert
    template.hasResourceProperties("AWS::Lambda::Function", {
      Description: Match.stringLikeRegexp("worker"),
      MemorySize: 2048,
      Environment: { Variables: Match.objectLike({ JOBS_RETENTION_SECONDS: String(7 * 24 * 3600) }) },
    });
    for (const mapping of sqsMappings(template)) {
      expect(mapping.Properties.ScalingConfig).toEqual({ MaximumConcurrency: 50 });
    }
    template.hasResourceProperties("AWS::DynamoDB::Table", {
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: false },
    });
    template.hasResource("AWS::DynamoDB::Table", { DeletionPolicy: "Delete" });
    template.allResources("AWS::SQS::Queue", { DeletionPolicy: "Delete" });
    template.allResourcesProperties("AWS::Logs::LogGroup", { RetentionInDays: 7 });
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      MetricName: "ApproximateAgeOfOldestMessage",
      Threshold: 7200,
    });
  });

  it("encrypts the table and the lanes with a customer managed key and grants it to the functions", () => {
    // Arrange
    const keyArn = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

    // Act
    const { template } = synthJobSystem((stack) => ({
      encryptionKey: kms.Key.fromKeyArn(stack, "Key", keyArn),
    }));

    // Assert
    template.hasResourceProperties("AWS::DynamoDB::Table", {
      SSESpecification: { SSEEnabled: true, SSEType: "KMS", KMSMasterKeyId: keyArn },
    });
    template.allResourcesProperties("AWS::SQS::Queue", { KmsMasterKeyId: keyArn });
    for (const role of ["WorkerRole", "MaintenanceRole"]) {
      template.hasResourceProperties("AWS::IAM::Policy", {
        Roles: [{ Ref: Match.stringLikeRegexp(`^Jobs${role}`) }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            {
              Action: ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"],
              Effect: "Allow",
              Resource: keyArn,
            },
          ]),
        },
      });
    }
  });
});

describe("JobSystem without a Lambda worker (jobs run in containers)", () => {
  it("creates no worker function and no lane event source mapping, and keeps maintenance and the lanes", () => {
    // Arrange + Act
    const { template, jobs } = synthJobSystem({ lambdaWorker: false });

    // Assert
    expect(sqsMappings(template)).toEqual([]);
    template.resourceCountIs("AWS::Lambda::Function", 4);
    template.hasResourceProperties("AWS::Lambda::Function", {
      Description: Match.stringLikeRegexp("maintenance"),
    });
    expect(queuesOf(template).lanes).toHaveLength(defaultLanes.length);
    expect(jobs.workerFunction).toBeUndefined();
    expect(Object.keys(jobs.functions)).toEqual([
      "Maintenance",
      "WebSocket",
      "StreamDispatch",
      "Projections",
    ]);
    expect(jobs.alarms).toHaveLength(2 * defaultLanes.length + 1 + 4 + 2);
    expect(jobs.clientEnvironment).toHaveProperty("JOBS_SCHEDULER_EXPIRY_TARGET_ARN");
    expect(() => jobs.metricWorkerErrors()).toThrow(
      /Test\/Jobs metricWorkerErrors: there is no worker function/,
    );
  });
});

describe("generated handler entries", () => {
  it("apply a job handler factory to the user's app", () => {
    const source = entrySource(
      { module: "handlers", name: "createWorkerLambdaHandler" },
      "/project/src/jobs.ts",
    );
    expect(source).toContain('import { app } from "/project/src/jobs.ts";');
    expect(source).toMatch(
      /import \{ createWorkerLambdaHandler \} from ".*sdk\/src\/lambda\/handlers\.(ts|js)";/,
    );
    expect(source).toContain("export const handler = createWorkerLambdaHandler(app);");
  });

  it("leave the jobs out of handlers that do not take the app (the stream consumers)", () => {
    const source = entrySource(
      { module: "stream-handlers", name: "createStreamDispatchLambdaHandler" },
      "/project/src/jobs.ts",
    );
    expect(source).not.toContain("/project/src/jobs.ts");
    expect(source).toMatch(/from ".*sdk\/src\/lambda\/stream-handlers\.(ts|js)";/);
    expect(source).toContain("export const handler = createStreamDispatchLambdaHandler();");
  });
});

describe("JobSystem validation", () => {
  it.each([
    [
      "a worker timeout over 15 minutes",
      { workerTimeout: Duration.minutes(16) },
      /Test\/Jobs workerTimeout: must be whole seconds from 1 second to 15 minutes .*got 16 minutes/,
    ],
    [
      "a worker timeout under a second",
      { workerTimeout: Duration.millis(500) },
      /Test\/Jobs workerTimeout: must be whole seconds/,
    ],
    [
      "a worker timeout that is a token",
      { workerTimeout: Duration.seconds(Lazy.number({ produce: () => 60 })) },
      /Test\/Jobs workerTimeout: must be a concrete duration/,
    ],
    [
      "a memory size under 128 MiB",
      { workerMemorySize: 64 },
      /Test\/Jobs workerMemorySize: must be an integer from 128 to 10240, got 64/,
    ],
    [
      "a maximum concurrency under 2",
      { workerMaxConcurrency: 1 },
      /Test\/Jobs workerMaxConcurrency: must be an integer from 2 to 1000, got 1/,
    ],
    [
      "a zero retention",
      { retention: Duration.seconds(0) },
      /Test\/Jobs retention: must be at least 1 second/,
    ],
    [
      "a jobs entry that does not exist",
      { jobsEntry: "no/such/jobs.ts" },
      /Test\/Jobs jobsEntry: no file at .*no\/such\/jobs\.ts/,
    ],
  ] as const)("rejects %s with an error naming the construct path", (_label, props, message) => {
    // Arrange + Act + Assert
    expect(() => synthJobSystem(props)).toThrow(message);
  });

  it("accepts a memory size and a concurrency given as tokens, checking them at deploy time", () => {
    // Arrange + Act
    const { template } = synthJobSystem({
      workerMemorySize: Lazy.number({ produce: () => 512 }),
      workerMaxConcurrency: Lazy.number({ produce: () => 3 }),
    });

    // Assert
    template.hasResourceProperties("AWS::Lambda::Function", { MemorySize: 512 });
    expect(sqsMappings(template)).toHaveLength(defaultLanes.length);
    for (const mapping of sqsMappings(template)) {
      expect(mapping.Properties.ScalingConfig).toEqual({ MaximumConcurrency: 3 });
    }
  });

  it("resolves a relative jobsEntry from the working directory", () => {
    // Arrange
    const relative = fixtureJobsEntry.replace(`${process.cwd()}/`, "");

    // Act + Assert
    expect(relative).not.toBe(fixtureJobsEntry);
    expect(() => synthJobSystem({ jobsEntry: relative })).not.toThrow();
  });

  it("refuses metrics of a lane it does not have, listing the lanes", () => {
    // Arrange
    const { jobs } = synthJobSystem();

    // Act + Assert
    expect(() => jobs.metricDeadLetterMessages("urgent")).toThrow(
      /"urgent" is not a lane \(lanes: high, normal, low\)/,
    );
    expect(jobs.metricDeadLetterMessages("high").metricName).toBe("ApproximateNumberOfMessagesVisible");
    expect(jobs.metricOldestMessageAge("low").metricName).toBe("ApproximateAgeOfOldestMessage");
    expect(jobs.metricVisibleMessages("normal").metricName).toBe("ApproximateNumberOfMessagesVisible");
    expect(jobs.metricWorkerErrors().metricName).toBe("Errors");
  });

  it("exposes its functions and attributes", () => {
    // Arrange + Act
    const { jobs } = synthJobSystem();

    // Assert
    expect(Object.keys(jobs.functions)).toEqual([
      "Worker",
      "Maintenance",
      "WebSocket",
      "StreamDispatch",
      "Projections",
    ]);
    expect(jobs.workerFunction).toBeInstanceOf(lambda.Function);
    expect(jobs.maintenanceFunction).toBe(jobs.functions.Maintenance);
    expect(jobs.lanes.map((l) => l.definition.name)).toEqual(defaultLanes.map((l) => l.name));
    expect(jobs.alarms).toHaveLength(2 * defaultLanes.length + 1 + 5 + 2);
    expect(jobs.webSocketApi).toBeDefined();
    expect(jobs.webSocketTokenSecret).toBeDefined();
    expect(jobs.webSocketUrl).toMatch(/^wss:\/\//);
    expect(Object.keys(jobs.clientEnvironment)).toEqual([
      "JOBS_TABLE_NAME",
      "JOBS_LANE_URLS",
      "JOBS_SCHEDULE_GROUP_NAME",
      "JOBS_SCHEDULER_ROLE_ARN",
      "JOBS_SCHEDULER_DLQ_ARN",
      "JOBS_SCHEDULER_EXPIRY_TARGET_ARN",
    ]);
  });
});
