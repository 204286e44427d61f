/**
 * Live observation: the API Gateway WebSocket API clients subscribe to runs through,
 * its auto-deployed stage, the token `$connect` accepts (a Secrets Manager secret), and
 * what the functions that serve it or push frames to it are given.
 */
import { Names, type RemovalPolicy, Stack } from "aws-cdk-lib";
import * as apigwv2 from "aws-cdk-lib/aws-apigatewayv2";
import { WebSocketLambdaIntegration } from "aws-cdk-lib/aws-apigatewayv2-integrations";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as kms from "aws-cdk-lib/aws-kms";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import { Construct } from "constructs";
import { connectionPk, runPk, subscriptionKey } from "../sdk/src/store/keys.js";
import { grantKey } from "./encryption.js";
import { jobSystemEnvironmentVariables } from "./environment.js";
import type { JobsTable } from "./jobs-table.js";

/** The WebSocket API's stage: `wss://{api-id}.execute-api.{region}.amazonaws.com/live`. */
export const webSocketStageName = "live";

/**
 * The WebSocket API's routes, all to the WebSocket function, which dispatches on the
 * route key (`createWebSocketLambdaHandler`). Routes are chosen by the message's
 * `action` (`sdk/src/realtime/protocol.ts`); `$default` answers anything else with an error frame.
 */
export const webSocketRouteKeys = [
  "$connect",
  "$disconnect",
  "$default",
  "subscribe",
  "unsubscribe",
] as const;

/** Properties of a {@link RealtimeApi}. */
export interface RealtimeApiProps {
  /** The table subscriptions are stored in. */
  readonly table: JobsTable;
  /** What happens to a generated token secret when it leaves the stack. */
  readonly removalPolicy: RemovalPolicy;
  /**
   * The secret whose string is the token `$connect` accepts.
   *
   * @default - a generated secret (48 letters and digits)
   */
  readonly tokenSecret?: secretsmanager.ISecret;
  /**
   * The table's customer managed key, granted to the functions with table access.
   *
   * @default - none (the AWS managed key needs no grant)
   */
  readonly encryptionKey?: kms.IKey;
}

/**
 * The WebSocket API, its stage `live` and its token. Routes are added with
 * {@link addConnectionHandler}, once the function serving them exists.
 *
 * @example
 * ```ts
 * const realtime = new RealtimeApi(this, "Realtime", { table, removalPolicy: RemovalPolicy.RETAIN });
 * realtime.addConnectionHandler(webSocketFunction);
 * realtime.connectFunction(fanoutFunction);
 * ```
 */
export class RealtimeApi extends Construct {
  /** The WebSocket API. */
  readonly api: apigwv2.WebSocketApi;
  /** Its auto-deployed stage, {@link webSocketStageName}. */
  readonly stage: apigwv2.WebSocketStage;
  /** The secret whose string is the token `$connect` accepts. */
  readonly tokenSecret: secretsmanager.ISecret;

  readonly #table: JobsTable;
  readonly #encryptionKey: kms.IKey | undefined;

  constructor(scope: Construct, id: string, props: RealtimeApiProps) {
    super(scope, id);
    this.#table = props.table;
    this.#encryptionKey = props.encryptionKey;
    this.api = new apigwv2.WebSocketApi(this, "WebSocketApi", {
      apiName: `${Names.uniqueResourceName(this, { maxLength: 100, separator: "-" })}-websocket`,
      description: "Job system: live run events (subscribe / unsubscribe by run id)",
      routeSelectionExpression: "$request.body.action",
    });
    this.stage = new apigwv2.WebSocketStage(this, "WebSocketStage", {
      webSocketApi: this.api,
      stageName: webSocketStageName,
      autoDeploy: true,
    });
    this.tokenSecret =
      props.tokenSecret ??
      new secretsmanager.Secret(this, "WebSocketToken", {
        description:
          "Token of the job system's WebSocket API: Authorization: Bearer on $connect, and the key that signs subscription tokens",
        // Letters and digits only: it travels in an HTTP header.
        generateSecretString: { passwordLength: 48, excludePunctuation: true, includeSpace: false },
        removalPolicy: props.removalPolicy,
      });
  }

  /**
   * Makes `fn` the function behind every route (one Lambda proxy integration), gives it
   * the token secret's ARN (never its value) and the right to read that secret only,
   * and everything {@link connectFunction} gives.
   */
  addConnectionHandler(fn: lambda.Function): iam.Grant {
    const integration = new WebSocketLambdaIntegration("Integration", fn);
    for (const routeKey of webSocketRouteKeys) this.api.addRoute(routeKey, { integration });
    fn.addEnvironment(jobSystemEnvironmentVariables.webSocketTokenSecretArn, this.tokenSecret.secretArn);
    // `subscribe` marks the run watched (so the fanout looks up its subscribers): run items only.
    const watchedMarks = this.#table.grantItems(fn, ["dynamodb:UpdateItem"], {
      partitionKeyPrefixes: [runPk("")],
    });
    // `$connect` records a connection that presented the token (`realtime/connection-grants.ts`).
    const connectionGrants = this.#table.grantItems(fn, ["dynamodb:PutItem"], {
      partitionKeyPrefixes: [connectionPk("")],
    });
    return this.connectFunction(fn)
      .combine(this.grantReadToken(fn))
      .combine(watchedMarks)
      .combine(connectionGrants);
  }

  /**
   * Gives a function that pushes frames what it needs: the callback URL
   * (`JOBS_WS_CALLBACK_URL`); reads of runs, events and subscriptions (`GetItem`,
   * `Query` on the table; no index); `BatchWriteItem` of subscription and connection
   * items only (partition keys `SUB#…` and `CONN#…`, `sdk/src/realtime/subscriptions.ts`),
   * to drop stale connections; and `execute-api:ManageConnections` for `POST` on the stage.
   */
  connectFunction(fn: lambda.Function): iam.Grant {
    fn.addEnvironment(jobSystemEnvironmentVariables.webSocketCallbackUrl, this.stage.callbackUrl);
    const reads = this.#table.grantItems(fn, ["dynamodb:GetItem", "dynamodb:Query"]);
    const subscriptionWrites = this.#table.grantItems(fn, ["dynamodb:BatchWriteItem"], {
      partitionKeyPrefixes: [subscriptionKey("", "").pk, connectionPk("")],
    });
    const manage = iam.Grant.addToPrincipal({
      grantee: fn,
      // PostToConnection is the only management call the SDK makes (no GET, no DELETE).
      actions: ["execute-api:ManageConnections"],
      resourceArns: [
        Stack.of(this).formatArn({
          service: "execute-api",
          resource: this.api.apiId,
          resourceName: `${this.stage.stageName}/POST/@connections/*`,
        }),
      ],
    });
    return reads.combine(subscriptionWrites).combine(grantKey(this.#encryptionKey, fn)).combine(manage);
  }

  /**
   * `secretsmanager:GetSecretValue` on the token secret, and decryption with its key when
   * it has a customer managed one (`Secret.grantRead` would add `DescribeSecret`, which
   * the SDK does not call).
   */
  grantReadToken(grantee: iam.IGrantable): iam.Grant {
    const secret = this.tokenSecret;
    const grant = iam.Grant.addToPrincipal({
      grantee,
      actions: ["secretsmanager:GetSecretValue"],
      // An imported secret known by name only has a random suffix: `-??????` matches it (as CDK does).
      resourceArns: [secret.secretFullArn ?? `${secret.secretArn}-??????`],
    });
    if (!secret.encryptionKey) return grant;
    const stack = Stack.of(secret);
    return grant.combine(
      secret.encryptionKey.grantDecrypt(
        new iam.PrincipalWithConditions(grantee.grantPrincipal, {
          StringEquals: { "kms:ViaService": `secretsmanager.${stack.region}.${stack.urlSuffix}` },
        }),
      ),
    );
  }
}
