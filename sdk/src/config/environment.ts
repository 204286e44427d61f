/**
 * Configuration from environment variables: what the CDK construct sets on its
 * functions and grants to client roles, and what a container worker is given.
 *
 * | variable | meaning |
 * |---|---|
 * | `JOBS_TABLE_NAME` | the DynamoDB table |
 * | `JOBS_LANE_URLS` | JSON object: lane name → SQS queue URL, e.g. `{"high":"https://…","normal":"…","low":"…"}` |
 * | `JOBS_WS_TOKEN` | WebSocket API only: the token `$connect` accepts (`?token=` or `Authorization: Bearer`) |
 * | `JOBS_WS_CALLBACK_URL` | WebSocket API only: the management endpoint, `https://{api-id}.execute-api.{region}.amazonaws.com/{stage}` |
 * | `AWS_ENDPOINT_URL` | (optional) one endpoint for every AWS service, e.g. LocalStack's; read by the AWS SDK itself |
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SQSClient } from "@aws-sdk/client-sqs";
import { type ConnectOptions, connect, type JobSystem } from "../connect.js";
import { ValidationError } from "../errors.js";

/** Names of the environment variables read here. */
export const environmentVariables = {
  tableName: "JOBS_TABLE_NAME",
  laneUrls: "JOBS_LANE_URLS",
  webSocketToken: "JOBS_WS_TOKEN",
  webSocketCallbackUrl: "JOBS_WS_CALLBACK_URL",
} as const;

/** Reads table name and lane URLs from `env`. Throws {@link ValidationError} naming a missing or malformed variable. */
export function readEnvironment(env: NodeJS.ProcessEnv = process.env): Pick<ConnectOptions, "tableName" | "laneUrls"> {
  const tableName = env[environmentVariables.tableName];
  if (!tableName) throw new ValidationError(environmentVariables.tableName, "is not set");
  const raw = env[environmentVariables.laneUrls];
  if (!raw) throw new ValidationError(environmentVariables.laneUrls, "is not set");
  let laneUrls: unknown;
  try {
    laneUrls = JSON.parse(raw);
  } catch (error) {
    throw new ValidationError(environmentVariables.laneUrls, "is not JSON", { cause: error });
  }
  if (
    typeof laneUrls !== "object" ||
    laneUrls === null ||
    Object.values(laneUrls).some((url) => typeof url !== "string")
  ) {
    throw new ValidationError(environmentVariables.laneUrls, "must be a JSON object of lane name → queue URL");
  }
  return { tableName, laneUrls: laneUrls as Record<string, string> };
}

/**
 * Connects with the variables the construct documents and default AWS SDK clients
 * (region and credentials from the usual AWS chain; `AWS_ENDPOINT_URL` honoured).
 *
 * @example
 * ```ts
 * const { client } = connectFromEnvironment(); // in any Lambda or container granted access
 * await client.trigger("Cleanup");
 * ```
 */
export function connectFromEnvironment(
  options: Omit<ConnectOptions, "tableName" | "laneUrls" | "dynamodb" | "sqs"> &
    Partial<Pick<ConnectOptions, "dynamodb" | "sqs">> = {},
  env: NodeJS.ProcessEnv = process.env,
): JobSystem {
  return connect({
    ...options,
    ...readEnvironment(env),
    dynamodb: options.dynamodb ?? new DynamoDBClient({}),
    sqs: options.sqs ?? new SQSClient({}),
  });
}
