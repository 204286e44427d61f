/**
 * Lambda handlers of live observation: the WebSocket API's routes (the fanout runs in the
 * stream dispatch consumer, `stream-handlers.ts`). Configured from the environment (`config/environment.ts`):
 * `JOBS_TABLE_NAME`, `JOBS_WS_CALLBACK_URL`, and the token as `JOBS_WS_TOKEN_SECRET_ARN`
 * (a Secrets Manager secret, what the CDK construct sets) or `JOBS_WS_TOKEN` (plain).
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { environmentVariables } from "../config/environment.js";
import { ValidationError } from "../errors.js";
import { managementApiPoster } from "../realtime/connection-poster.js";
import { sharedTokenAuthorizer, type WebSocketAuthorizer } from "../realtime/tokens.js";
import { createWebSocketHandlers, type WebSocketEvent } from "../realtime/websocket-handlers.js";
import { RunStore } from "../store/run-store.js";

function required(env: NodeJS.ProcessEnv, name: string): string {
  const value = env[name];
  if (!value) throw new ValidationError(name, "is not set");
  return value;
}

function storeFrom(env: NodeJS.ProcessEnv): RunStore {
  const doc = DynamoDBDocumentClient.from(new DynamoDBClient({}), {
    marshallOptions: { removeUndefinedValues: true },
  });
  return new RunStore({ doc, tableName: required(env, environmentVariables.tableName) });
}

/**
 * The authorizer of connection and subscription tokens (`realtime/tokens.ts`). With
 * `JOBS_WS_TOKEN_SECRET_ARN` set, the API's token is that secret's string, fetched on
 * the first request that needs it in each execution environment and kept (a failed
 * fetch is retried on the next); a rotated secret takes effect in new execution
 * environments. Otherwise it is `JOBS_WS_TOKEN` (no token: every token is refused).
 */
export function tokenAuthorizerFromEnvironment(
  env: NodeJS.ProcessEnv = process.env,
  secrets?: SecretsManagerClient,
): WebSocketAuthorizer {
  const secretArn = env[environmentVariables.webSocketTokenSecretArn];
  if (!secretArn) return sharedTokenAuthorizer(env[environmentVariables.webSocketToken]);
  let authorizer: Promise<WebSocketAuthorizer> | undefined;
  const current = () =>
    (authorizer ??= (secrets ?? new SecretsManagerClient({}))
      .send(new GetSecretValueCommand({ SecretId: secretArn }))
      .then((out) => {
        if (!out.SecretString) {
          throw new ValidationError(
            environmentVariables.webSocketTokenSecretArn,
            "names a secret with no string value",
          );
        }
        return sharedTokenAuthorizer(out.SecretString);
      })
      .catch((error: unknown) => {
        authorizer = undefined;
        throw error;
      }));
  return {
    connection: async (token) => (await current()).connection(token),
    subscription: async (token, runId, nowMs) => (await current()).subscription(token, runId, nowMs),
  };
}

/**
 * The WebSocket API's handler for every route (`$connect`, `$disconnect`, `subscribe`,
 * `unsubscribe`, `$default`), dispatching on `requestContext.routeKey`.
 */
export function createWebSocketLambdaHandler(env: NodeJS.ProcessEnv = process.env) {
  const handlers = createWebSocketHandlers({
    store: storeFrom(env),
    poster: managementApiPoster(required(env, environmentVariables.webSocketCallbackUrl)),
    authorizer: tokenAuthorizerFromEnvironment(env),
  });
  return async (event: WebSocketEvent) => {
    switch (event.requestContext.routeKey) {
      case "$connect":
        return handlers.connect(event);
      case "$disconnect":
        return handlers.disconnect(event);
      default:
        return handlers.message(event);
    }
  };
}
