/**
 * The WebSocket API of the JobSystem construct and its fanout (the stream dispatch
 * function, with the API): API, routes, integration, stage, token secret and their
 * grants. The stream dispatch's event source is tested in streams.test.ts.
 * Synthesized without bundling.
 */
import { Stack } from "aws-cdk-lib";
import type { Template } from "aws-cdk-lib/assertions";
import * as iam from "aws-cdk-lib/aws-iam";
import * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { webSocketRouteKeys, webSocketStageName } from "../../infra/realtime-api.js";
import { asList, removeSynthesized, renderResource, statementsOfRole, synthJobSystem } from "./synth.js";

type Resources = Record<string, { Type: string; Properties: Record<string, unknown> }>;

function resourcesOf(template: Template, type: string): Resources {
  return template.findResources(type) as Resources;
}

function only(template: Template, type: string) {
  const all = Object.entries(resourcesOf(template, type));
  expect(all).toHaveLength(1);
  const [logicalId, resource] = all[0] ?? [];
  return { logicalId: logicalId as string, properties: resource?.Properties ?? {} };
}

function functionId(template: Template, description: RegExp): string {
  const found = Object.entries(resourcesOf(template, "AWS::Lambda::Function")).filter(([, f]) =>
    description.test(String(f.Properties.Description)),
  );
  expect(found).toHaveLength(1);
  return found[0]?.[0] as string;
}

/** The environment variables of the function whose description matches. */
function envOf(template: Template, description: RegExp): Record<string, unknown> {
  const fn = resourcesOf(template, "AWS::Lambda::Function")[functionId(template, description)];
  return (fn?.Properties.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {};
}

afterAll(removeSynthesized);

describe("the WebSocket API (default props)", () => {
  let template: Template;

  beforeAll(() => {
    ({ template } = synthJobSystem());
  });

  it("creates a WebSocket API routing on $request.body.action", () => {
    const { properties } = only(template, "AWS::ApiGatewayV2::Api");
    expect(properties).toMatchObject({
      ProtocolType: "WEBSOCKET",
      RouteSelectionExpression: "$request.body.action",
    });
  });

  it("routes $connect, $disconnect, $default, subscribe and unsubscribe to one Lambda proxy integration of the WebSocket function", () => {
    const api = only(template, "AWS::ApiGatewayV2::Api").logicalId;
    const integration = only(template, "AWS::ApiGatewayV2::Integration");
    const webSocketFn = functionId(template, /WebSocket API/);
    expect(integration.properties).toMatchObject({ ApiId: { Ref: api }, IntegrationType: "AWS_PROXY" });
    expect(JSON.stringify(integration.properties.IntegrationUri)).toContain(`"${webSocketFn}","Arn"`);

    const routes = Object.values(resourcesOf(template, "AWS::ApiGatewayV2::Route")).map((r) => r.Properties);
    expect(routes.map((r) => r.RouteKey).sort()).toEqual([...webSocketRouteKeys].sort());
    for (const route of routes) {
      expect(route).toMatchObject({
        ApiId: { Ref: api },
        Target: { "Fn::Join": ["", ["integrations/", { Ref: integration.logicalId }]] },
      });
    }
    // API Gateway may invoke the function, once per route, from this API only.
    const permissions = Object.values(resourcesOf(template, "AWS::Lambda::Permission")).filter(
      (p) => p.Properties.Principal === "apigateway.amazonaws.com",
    );
    expect(permissions).toHaveLength(webSocketRouteKeys.length);
    for (const permission of permissions) {
      expect(permission.Properties.FunctionName).toEqual({ "Fn::GetAtt": [webSocketFn, "Arn"] });
      expect(JSON.stringify(permission.Properties.SourceArn)).toContain(`{"Ref":"${api}"}`);
    }
  });

  it("deploys the API automatically to the stage live", () => {
    const api = only(template, "AWS::ApiGatewayV2::Api").logicalId;
    expect(only(template, "AWS::ApiGatewayV2::Stage").properties).toMatchObject({
      ApiId: { Ref: api },
      StageName: webSocketStageName,
      AutoDeploy: true,
    });
  });

  it("generates the token in a Secrets Manager secret and gives the WebSocket function its ARN, never its value", () => {
    const secret = only(template, "AWS::SecretsManager::Secret");
    // The token travels in an Authorization header, never in a URL.
    expect(String(secret.properties.Description)).toContain("Authorization: Bearer");
    expect(String(secret.properties.Description)).not.toContain("?token=");
    expect(secret.properties.GenerateSecretString).toMatchObject({
      PasswordLength: 48,
      ExcludePunctuation: true,
      IncludeSpace: false,
    });
    expect(secret.properties.SecretString).toBeUndefined();
    const env = envOf(template, /WebSocket API/);
    expect(env.JOBS_WS_TOKEN_SECRET_ARN).toEqual({ Ref: secret.logicalId });
    expect(env).not.toHaveProperty("JOBS_WS_TOKEN");
    expect(JSON.stringify(template.toJSON())).not.toContain('"SecretString"');
  });

  it("gives the WebSocket and stream dispatch (fanout) functions the stage's callback URL", () => {
    const api = only(template, "AWS::ApiGatewayV2::Api").logicalId;
    for (const description of [/WebSocket API/, /stream dispatch/]) {
      const env = envOf(template, description);
      expect(env.JOBS_WS_CALLBACK_URL).toEqual({
        "Fn::Join": [
          "",
          [
            "https://",
            { Ref: api },
            ".execute-api.",
            { Ref: "AWS::Region" },
            ".",
            { Ref: "AWS::URLSuffix" },
            `/${webSocketStageName}`,
          ],
        ],
      });
      expect(env.JOBS_TABLE_NAME).toEqual({ Ref: only(template, "AWS::DynamoDB::Table").logicalId });
    }
  });

  it("lets both functions post to connections of this stage only (ManageConnections, POST)", () => {
    const api = only(template, "AWS::ApiGatewayV2::Api").logicalId;
    for (const role of ["JobsWebSocketRole", "JobsStreamDispatchRole"]) {
      const manage = statementsOfRole(template, role).filter((s) =>
        asList(s.Action).some((a) => String(a).startsWith("execute-api:")),
      );
      expect(manage).toHaveLength(1);
      expect(asList(manage[0]?.Action)).toEqual(["execute-api:ManageConnections"]);
      expect(renderResource(manage[0]?.Resource)).toBe(
        `arn:\${Ref:AWS::Partition}:execute-api:\${Ref:AWS::Region}:\${Ref:AWS::AccountId}:\${Ref:${api}}/${webSocketStageName}/POST/@connections/*`,
      );
    }
  });

  it("lets both functions read the table and batch-write subscription items (SUB#, CONN#) only; the WebSocket function marks runs watched and records connections (CONN#)", () => {
    const table = only(template, "AWS::DynamoDB::Table").logicalId;
    const scoped = (action: string, prefixes: string[]) => ({
      Effect: "Allow",
      Action: action,
      Resource: { "Fn::GetAtt": [table, "Arn"] },
      Condition: { "ForAllValues:StringLike": { "dynamodb:LeadingKeys": prefixes } },
    });
    for (const role of ["JobsWebSocketRole", "JobsStreamDispatchRole"]) {
      const dynamo = statementsOfRole(template, role).filter((s) =>
        asList(s.Action).some((a) =>
          /^dynamodb:(GetItem|Query|BatchWriteItem|PutItem|UpdateItem|DeleteItem)$/.test(String(a)),
        ),
      );
      const common = [
        {
          Effect: "Allow",
          Action: ["dynamodb:GetItem", "dynamodb:Query"],
          Resource: { "Fn::GetAtt": [table, "Arn"] },
        },
        scoped("dynamodb:BatchWriteItem", ["SUB#*", "CONN#*"]),
      ];
      const webSocketOnly = [
        scoped("dynamodb:UpdateItem", ["RUN#*"]),
        scoped("dynamodb:PutItem", ["CONN#*"]),
      ];
      const expected = role === "JobsWebSocketRole" ? [...common, ...webSocketOnly] : common;
      // The stream dispatch's three cascade cancel grants and its limit grant are tested in streams.test.ts.
      expect(dynamo).toHaveLength(expected.length + (role === "JobsStreamDispatchRole" ? 4 : 0));
      expect(dynamo).toEqual(expect.arrayContaining(expected));
    }
  });

  it("lets the WebSocket function, and it alone, read the token secret (GetSecretValue only)", () => {
    const secret = only(template, "AWS::SecretsManager::Secret").logicalId;
    const reads = (role: string) =>
      statementsOfRole(template, role).filter((s) =>
        asList(s.Action).some((a) => String(a).startsWith("secretsmanager:")),
      );
    expect(reads("JobsWebSocketRole")).toEqual([
      { Effect: "Allow", Action: "secretsmanager:GetSecretValue", Resource: { Ref: secret } },
    ]);
    for (const role of [
      "JobsStreamDispatchRole",
      "JobsProjectionsRole",
      "JobsWorkerRole",
      "JobsMaintenanceRole",
    ]) {
      expect(reads(role)).toEqual([]);
    }
  });

  it("alarms on the errors of both functions", () => {
    const errors = Object.values(resourcesOf(template, "AWS::CloudWatch::Alarm"))
      .map((a) => a.Properties)
      .filter((a) => a.MetricName === "Errors");
    const targets = errors.map((a) => JSON.stringify(a.Dimensions));
    for (const description of [/WebSocket API/, /stream dispatch/]) {
      expect(targets.some((t) => t.includes(`"${functionId(template, description)}"`))).toBe(true);
    }
  });
});

describe("the WebSocket API's attributes and grants", () => {
  it("exposes the URL (wss://…/live) and the secret, and grants a client the token", () => {
    // Arrange + Act
    const { template, jobs } = synthJobSystem(
      {},
      {
        extend: (stack, system) => {
          system.grantWebSocketToken(
            new iam.Role(stack, "ObserverRole", { assumedBy: new iam.AccountRootPrincipal() }),
          );
        },
      },
    );

    // Assert
    const resolved = JSON.stringify(Stack.of(jobs).resolve(jobs.webSocketUrl));
    expect(resolved).toMatch(
      /^\{"Fn::Join":\["",\["wss:\/\/",\{"Ref":"JobsRealtimeWebSocketApi\w+"\},"\.execute-api\.".*"\/live"\]\]\}$/,
    );
    expect(jobs.webSocketTokenSecret).toBeDefined();
    const secret = only(template, "AWS::SecretsManager::Secret").logicalId;
    expect(statementsOfRole(template, "ObserverRole")).toEqual([
      { Effect: "Allow", Action: "secretsmanager:GetSecretValue", Resource: { Ref: secret } },
    ]);
  });

  it("uses a secret given as a prop instead of generating one", () => {
    // Arrange + Act
    const arn = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:jobs-ws-token-AbCdEf";
    const { template } = synthJobSystem((stack) => ({
      webSocketTokenSecret: secretsmanager.Secret.fromSecretCompleteArn(stack, "Token", arn),
    }));

    // Assert
    template.resourceCountIs("AWS::SecretsManager::Secret", 0);
    expect(envOf(template, /WebSocket API/).JOBS_WS_TOKEN_SECRET_ARN).toBe(arn);
    const reads = statementsOfRole(template, "JobsWebSocketRole").filter((s) =>
      asList(s.Action).includes("secretsmanager:GetSecretValue"),
    );
    expect(reads.map((s) => s.Resource)).toEqual([arn]);
  });
});

describe("JobSystem with webSocket: false", () => {
  it("creates no API, no secret and no WebSocket function, and no function may manage connections", () => {
    // Arrange + Act
    const { template, jobs } = synthJobSystem({ webSocket: false });

    // Assert
    for (const type of [
      "AWS::ApiGatewayV2::Api",
      "AWS::ApiGatewayV2::Route",
      "AWS::ApiGatewayV2::Stage",
      "AWS::SecretsManager::Secret",
    ]) {
      template.resourceCountIs(type, 0);
    }
    expect(Object.keys(jobs.functions)).toEqual(["Worker", "Maintenance", "StreamDispatch", "Projections"]);
    expect(jobs.webSocketUrl).toBeUndefined();
    expect(jobs.webSocketTokenSecret).toBeUndefined();
    expect(JSON.stringify(template.toJSON())).not.toContain("execute-api:ManageConnections");
    expect(() => jobs.grantWebSocketToken(new iam.AccountRootPrincipal())).toThrow(
      /Test\/Jobs grantWebSocketToken: there is no WebSocket API/,
    );
  });
});
