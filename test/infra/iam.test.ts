/**
 * F2, least privilege: every IAM statement the construct and the example stack produce,
 * walked one by one. No statement may allow all actions (`*`), all actions of a
 * service (`svc:*`) or all resources (`*`). A resource with a wildcard inside an ARN is
 * allowed only where AWS offers no narrower form, each listed below with its reason.
 */
import { App } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import * as iam from "aws-cdk-lib/aws-iam";
import * as kms from "aws-cdk-lib/aws-kms";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ExampleStack } from "../../infra/example-stack.js";
import { tableItemActions } from "../../infra/parts.js";
import { tableDefinition } from "../../sdk/src/store/table-definition.js";
import {
  asList,
  iamStatements,
  removeSynthesized,
  renderResource,
  statementsOfRole,
  synthJobSystem,
} from "./synth.js";

/**
 * Resources with a wildcard that are allowed, and why. `check` receives the rendered
 * resource and the template, and says whether the wildcard is as narrow as AWS allows.
 */
const wildcardResourceExceptions: readonly {
  readonly reason: string;
  readonly check: (resource: string, template: Template) => boolean;
}[] = [
  {
    reason:
      "One-time schedules are named per run at run time, so create/delete (clients, the worker, maintenance and the stream dispatch, which schedules timers) can only be scoped to the schedule group's ARN prefix (schedule/<group>/*).",
    check: (resource, template) => {
      const groups = Object.values(template.findResources("AWS::Scheduler::ScheduleGroup")).map((g) =>
        String((g as { Properties: { Name: string } }).Properties.Name),
      );
      return groups.some(
        (name) =>
          resource ===
          `arn:\${Ref:AWS::Partition}:scheduler:\${Ref:AWS::Region}:\${Ref:AWS::AccountId}:schedule/${name}/*`,
      );
    },
  },
  {
    reason:
      "CDK's scheduler LambdaInvoke target lets its role invoke the maintenance function's versions and aliases: <function ARN>:*.",
    check: (resource, template) => {
      const match = /^\$\{GetAtt:(\w+)\.Arn\}:\*$/.exec(resource);
      return (
        match?.[1] !== undefined && template.findResources("AWS::Lambda::Function")[match[1]] !== undefined
      );
    },
  },
  {
    reason:
      "WebSocket connection ids are assigned by API Gateway at run time, so PostToConnection (the WebSocket function, and the stream dispatch as the fanout) can only be scoped to the stage's POST on @connections: <api>/<stage>/POST/@connections/*.",
    check: (resource, template) => {
      const match =
        /^arn:\$\{Ref:AWS::Partition\}:execute-api:\$\{Ref:AWS::Region\}:\$\{Ref:AWS::AccountId\}:\$\{Ref:(\w+)\}\/([\w-]+)\/POST\/@connections\/\*$/.exec(
          resource,
        );
      if (!match) return false;
      const [, apiId, stageName] = match;
      const stages = Object.values(template.findResources("AWS::ApiGatewayV2::Stage")) as {
        Properties: { ApiId: unknown; StageName: string };
      }[];
      return (
        template.findResources("AWS::ApiGatewayV2::Api")[apiId as string] !== undefined &&
        stages.some(
          (s) =>
            s.Properties.StageName === stageName &&
            JSON.stringify(s.Properties.ApiId) === JSON.stringify({ Ref: apiId }),
        )
      );
    },
  },
];

/**
 * Statements with `Resource: "*"` that are allowed because the action has no
 * resource-level permissions (for example `cloudwatch:PutMetricData`, `xray:PutTraceSegments`).
 */
const allResourceActionExceptions: readonly { readonly action: string; readonly reason: string }[] = [
  {
    action: "dynamodb:ListStreams",
    reason:
      "The two stream consumers (stream dispatch, projections; Table.grantStreamRead) need ListStreams, which CDK grants on every resource (Table.grantTableListStreams): ListStreams is an account-level listing with no table or stream resource to scope it to; the stream reads themselves (DescribeStream, GetRecords, GetShardIterator) are granted on the table's stream ARN only.",
  },
];

/** Log writes to the function's own log group, and the customer key when there is one: every function's. */
const everyFunction: readonly { readonly actions: readonly string[]; readonly reason: string }[] = [
  {
    actions: ["logs:CreateLogStream", "logs:PutLogEvents"],
    reason:
      "Writes to its own log group only (an explicit log group instead of AWSLambdaBasicExecutionRole).",
  },
  {
    actions: ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"],
    reason: "With a customer managed key: table items and lane messages are encrypted with it.",
  },
];

const clientGrant = [
  {
    actions: tableItemActions,
    reason:
      "The client grant: item reads (BatchGetItem: the run items a getRuns listing names) and the writes of transitions (IAM checks each item of a TransactWriteItems as Put/Update/Delete/ConditionCheck), on the table and its indexes.",
  },
  { actions: ["sqs:SendMessage"], reason: "Sends wake-ups (new runs, children, retries) to the lanes." },
  {
    actions: ["scheduler:CreateSchedule", "scheduler:DeleteSchedule", "iam:PassRole"],
    reason:
      "The Scheduler timer: one-time schedules in the group (releases, expiries), passing the scheduler role to Scheduler only.",
  },
] as const;

const streamRead = [
  {
    actions: [
      "dynamodb:ListStreams",
      "dynamodb:DescribeStream",
      "dynamodb:GetRecords",
      "dynamodb:GetShardIterator",
    ],
    reason:
      "Its event source mapping reads the table's stream with the function's role (Table.grantStreamRead).",
  },
  {
    actions: ["kms:DescribeKey"],
    reason:
      "With a customer managed key, Table.grantStreamRead adds kms:Decrypt and kms:DescribeKey on the table's key (stream records are encrypted with it).",
  },
];

const realtimeGrant = [
  {
    actions: ["dynamodb:GetItem", "dynamodb:Query"],
    reason: "Reads runs, their events and subscriptions (table only, no index).",
  },
  {
    actions: ["dynamodb:BatchWriteItem"],
    reason:
      "Writes and removes subscription and connection items only (SUB#, CONN#: a LeadingKeys condition).",
  },
  {
    actions: ["execute-api:ManageConnections"],
    reason: "Posts frames to connections of the stage (POST on @connections only).",
  },
];

/**
 * Every action each function's role may have, and why: a role with an action not listed
 * for it fails, and so does a listed action no template uses.
 */
const functionActionAllowList: Readonly<
  Record<string, readonly { readonly actions: readonly string[]; readonly reason: string }[]>
> = {
  Worker: [
    ...clientGrant,
    {
      actions: [
        "sqs:ReceiveMessage",
        "sqs:ChangeMessageVisibility",
        "sqs:GetQueueUrl",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
      ],
      reason:
        "CDK's SqsEventSource grants the lanes' event source mappings what Lambda's poller does with the function's role; ChangeMessageVisibility also holds a message until its run is due.",
    },
  ],
  Maintenance: [
    ...clientGrant,
    {
      actions: ["sqs:ReceiveMessage", "sqs:DeleteMessage"],
      reason:
        "Drains the lanes' dead-letter queues (those queues only), sending each wake-up back to its lane.",
    },
  ],
  WebSocket: [
    ...realtimeGrant,
    {
      actions: ["dynamodb:UpdateItem"],
      reason:
        "subscribe marks the run watched, so the fanout looks up its subscribers (RUN# items only: a LeadingKeys condition).",
    },
    {
      actions: ["dynamodb:PutItem"],
      reason:
        "$connect records a connection that presented the token, for its later subscribes (CONN# items only: a LeadingKeys condition).",
    },
    {
      actions: ["secretsmanager:GetSecretValue"],
      reason: "Reads the token $connect accepts and subscription tokens are signed with (that secret only).",
    },
  ],
  StreamDispatch: [
    {
      actions: ["sqs:SendMessage"],
      reason: "Sends the wake-up of every run a write left Pending (the reliable path).",
    },
    clientGrant[2],
    ...realtimeGrant,
    {
      actions: ["dynamodb:BatchGetItem"],
      reason: "The cascade cancel reads a parent's children 100 at a time (table only).",
    },
    {
      actions: ["dynamodb:UpdateItem", "dynamodb:PutItem"],
      reason:
        "The cascade cancel writes run items and their status events (RUN#): a child's cancel, a Succeeded child's mark; batches create children (RUN#, with their deduplication locks: DEDUP#), move the batch record's cursors, keep its counters and events (BATCH#) and mark each applied stream batch (AGGB#); a LeadingKeys condition.",
    },
    {
      actions: ["dynamodb:DeleteItem"],
      reason:
        "A canceled child's terminal transaction frees its deduplication lock (DEDUP#); a freed slot wakes its limit's next waiter, handing it the slot (PutItem) and deleting its waiter item (LIMIT#); LeadingKeys conditions.",
    },
    ...streamRead,
  ],
  Projections: [
    {
      actions: ["dynamodb:UpdateItem"],
      reason: "Adds to the run counts items only (AGG#job#, AGG#queue#: a LeadingKeys condition).",
    },
    {
      actions: ["dynamodb:PutItem"],
      reason:
        "Puts the marker of each applied stream batch only (AGGB#: a LeadingKeys condition), so a retried batch is not counted twice.",
    },
    ...streamRead,
  ],
};

function violations(template: Template): string[] {
  const found: string[] = [];
  for (const { logicalId, type, statement } of iamStatements(template)) {
    const where = `${logicalId} (${type})`;
    if ("NotAction" in statement || "NotResource" in statement || "NotPrincipal" in statement) {
      found.push(`${where}: uses NotAction/NotResource/NotPrincipal`);
    }
    if (type.endsWith("trust")) {
      const principal = statement.Principal as Record<string, unknown> | string | undefined;
      if (principal === "*" || JSON.stringify(principal).includes('"*"'))
        found.push(`${where}: trusts any principal`);
      continue;
    }
    const actions = asList(statement.Action).map(String);
    for (const action of actions) {
      if (action === "*" || /^[a-z0-9-]+:\*$/i.test(action)) found.push(`${where}: allows ${action}`);
      else if (action.includes("*")) found.push(`${where}: allows the wildcard action ${action}`);
    }
    for (const resource of asList(statement.Resource).map(renderResource)) {
      if (resource === "*") {
        const excused = actions.every((a) => allResourceActionExceptions.some((e) => e.action === a));
        if (!excused) found.push(`${where}: allows ${actions.join(", ")} on every resource`);
      } else if (
        resource.includes("*") &&
        !wildcardResourceExceptions.some((e) => e.check(resource, template))
      ) {
        found.push(`${where}: wildcard resource ${resource} for ${actions.join(", ")}`);
      }
    }
  }
  return found;
}

afterAll(removeSynthesized);

describe("IAM least privilege (F2)", () => {
  let example: Template;
  let granted: Template;
  let grantedFunctions: string[];

  beforeAll(() => {
    // Arrange + Act: the example stack, and a stack granting a client role, a worker
    // role and a customer managed key.
    const app = new App({
      builtinCloudFormationValidation: false,
      context: { "aws:cdk:bundling-stacks": [] },
    });
    example = Template.fromStack(new ExampleStack(app, "Example"));
    const synthesized = synthJobSystem(
      (stack) => ({
        encryptionKey: kms.Key.fromKeyArn(stack, "Key", "arn:aws:kms:eu-west-1:111122223333:key/1234abcd"),
      }),
      {
        extend: (stack, jobs) => {
          jobs.grantClient(new iam.Role(stack, "ClientRole", { assumedBy: new iam.AccountRootPrincipal() }));
          jobs.grantWorker(
            new iam.Role(stack, "ContainerRole", {
              assumedBy: new iam.ServicePrincipal("ecs-tasks.amazonaws.com"),
            }),
          );
        },
      },
    );
    granted = synthesized.template;
    grantedFunctions = Object.keys(synthesized.jobs.functions);
  });

  it("finds IAM statements to check (the walk is not vacuous)", () => {
    expect(iamStatements(example).length).toBeGreaterThan(15);
    expect(iamStatements(granted).length).toBeGreaterThan(20);
  });

  it("allows no action wildcard and no resource wildcard in the example stack, except the listed cases", () => {
    expect(violations(example)).toEqual([]);
  });

  it("allows no action wildcard and no resource wildcard with grants and a customer key, except the listed cases", () => {
    expect(violations(granted)).toEqual([]);
  });

  it("uses every listed wildcard exception (none is stale) and gives each a reason", () => {
    const resources = [example, granted].flatMap((template) =>
      iamStatements(template).flatMap(({ statement }) =>
        asList(statement.Resource)
          .map(renderResource)
          .map((resource) => ({ resource, template })),
      ),
    );
    for (const exception of wildcardResourceExceptions) {
      expect(exception.reason.length).toBeGreaterThan(20);
      expect(resources.some(({ resource, template }) => exception.check(resource, template))).toBe(true);
    }
    const starActions = [example, granted].flatMap((template) =>
      iamStatements(template)
        .filter(({ statement }) => asList(statement.Resource).includes("*"))
        .flatMap(({ statement }) => asList(statement.Action).map(String)),
    );
    for (const exception of allResourceActionExceptions) {
      expect(exception.reason.length).toBeGreaterThan(20);
      expect(starActions).toContain(exception.action);
    }
  });

  it("attaches no managed policies (AWSLambdaBasicExecutionRole covers every log group)", () => {
    for (const template of [example, granted]) {
      for (const role of Object.values(template.findResources("AWS::IAM::Role"))) {
        expect(
          (role as { Properties: Record<string, unknown> }).Properties.ManagedPolicyArns,
        ).toBeUndefined();
      }
      expect(template.findResources("AWS::IAM::ManagedPolicy")).toEqual({});
    }
  });

  it("grants a client table items, lane sends, group schedules and passing the scheduler role, nothing more", () => {
    const statements = statementsOfRole(granted, "ClientRole");
    const byAction = (action: string) => statements.filter((s) => asList(s.Action).includes(action));

    const table = byAction("dynamodb:GetItem");
    expect(table).toHaveLength(1);
    expect(asList(table[0]?.Action).sort()).toEqual(
      [
        "dynamodb:ConditionCheckItem",
        "dynamodb:DeleteItem",
        "dynamodb:BatchGetItem",
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:Query",
        "dynamodb:UpdateItem",
      ].sort(),
    );
    const tableResources = asList(table[0]?.Resource).map(renderResource);
    expect(tableResources).toHaveLength(1 + tableDefinition.indexes.length); // the table and each index, by name
    expect(tableResources.slice(1)).toEqual(
      tableDefinition.indexes.map((index) => `${tableResources[0]}/index/${index.indexName}`),
    );
    expect(tableResources.every((r) => r.startsWith("${GetAtt:Jobs"))).toBe(true);

    const sends = byAction("sqs:SendMessage");
    expect(sends).toHaveLength(1);
    expect(asList(sends[0]?.Action)).toEqual(["sqs:SendMessage"]);
    expect(asList(sends[0]?.Resource).map(renderResource)).toHaveLength(3);

    const schedules = byAction("scheduler:CreateSchedule");
    expect(asList(schedules[0]?.Action)).toEqual(["scheduler:CreateSchedule", "scheduler:DeleteSchedule"]);

    const passRole = byAction("iam:PassRole");
    expect(passRole).toHaveLength(1);
    expect(passRole[0]?.Condition).toEqual({
      StringEquals: { "iam:PassedToService": "scheduler.amazonaws.com" },
    });
    expect(renderResource(passRole[0]?.Resource)).toMatch(/^\$\{GetAtt:JobsTimersSchedulerRole\w+\.Arn\}$/);

    const key = byAction("kms:Decrypt");
    expect(key).toHaveLength(1);

    const all = statements.flatMap((s) => asList(s.Action));
    expect(
      all.filter((a) => !String(a).match(/^(dynamodb|sqs:SendMessage|scheduler|iam:PassRole|kms)/)),
    ).toEqual([]);
    expect(all).not.toContain("sqs:ReceiveMessage");
    expect(
      all.some((a) => /dynamodb:(Scan|DescribeTable|CreateTable|DeleteTable|UpdateTable)/.test(String(a))),
    ).toBe(false);
  });

  it("grants a container worker the client's rights plus receiving, deleting and re-hiding lane messages", () => {
    const actions = statementsOfRole(granted, "ContainerRole").flatMap((s) => asList(s.Action));
    expect(actions).toEqual(
      expect.arrayContaining([
        "dynamodb:Query",
        "sqs:SendMessage",
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:ChangeMessageVisibility",
        "scheduler:CreateSchedule",
        "iam:PassRole",
      ]),
    );
  });

  it("gives each function's role only the actions listed for it, each with a reason, and lists none it does not use", () => {
    const used = new Set<string>();
    for (const template of [example, granted]) {
      for (const [id, entries] of Object.entries(functionActionAllowList)) {
        const allowed = new Set([...entries, ...everyFunction].flatMap((entry) => entry.actions));
        for (const action of statementsOfRole(template, `Jobs${id}Role`).flatMap((s) => asList(s.Action))) {
          expect({ function: id, action, allowed: allowed.has(String(action)) }).toEqual({
            function: id,
            action,
            allowed: true,
          });
          used.add(`${id} ${String(action)}`);
        }
      }
    }
    for (const [id, entries] of Object.entries(functionActionAllowList)) {
      for (const entry of [...entries, ...everyFunction]) {
        expect(entry.reason.length).toBeGreaterThan(20);
        for (const action of entry.actions) expect(used).toContain(`${id} ${action}`);
      }
    }
    expect(Object.keys(functionActionAllowList)).toEqual(grantedFunctions);
  });
});
