/**
 * Configuration from environment variables: what the CDK construct sets on its
 * functions and grants to client roles, and what a container worker is given.
 *
 * | variable | meaning |
 * |---|---|
 * | `JOBS_TABLE_NAME` | the DynamoDB table |
 * | `JOBS_LANE_URLS` | JSON object: lane name → SQS queue URL, e.g. `{"high":"https://…","normal":"…","low":"…"}` |
 * | `JOBS_DEAD_LETTER_URLS` | (optional; the maintenance function) JSON object: lane name → its dead-letter queue's URL |
 * | `JOBS_WS_TOKEN` | WebSocket API only: the token `$connect` accepts (`Authorization: Bearer`), which also signs subscription tokens |
 * | `JOBS_WS_TOKEN_SECRET_ARN` | WebSocket API only, instead of `JOBS_WS_TOKEN`: a Secrets Manager secret whose string is the token, read once per execution environment (what the CDK construct sets: no token in the function's configuration) |
 * | `JOBS_WS_CALLBACK_URL` | WebSocket API only: the management endpoint, `https://{api-id}.execute-api.{region}.amazonaws.com/{stage}` |
 * | `JOBS_SCHEDULE_GROUP_NAME` | (optional) EventBridge Scheduler group for run timers; with the role below it turns the Scheduler timer on |
 * | `JOBS_SCHEDULER_ROLE_ARN` | (optional) the role the schedules assume: `sqs:SendMessage` on the lanes and the DLQ, `lambda:InvokeFunction` on the expiry target |
 * | `JOBS_SCHEDULER_EXPIRY_TARGET_ARN` | (optional) the function expiry schedules invoke (the maintenance function, which falls back to its own ARN); without it no expiry schedules are made |
 * | `JOBS_SCHEDULER_DLQ_ARN` | (optional) a standard SQS queue for schedule invocations that failed every retry |
 * | `AWS_ENDPOINT_URL` | (optional) one endpoint for every AWS service, e.g. LocalStack's; read by the AWS SDK itself |
 *
 * Lane ARNs are not needed: release schedules use Scheduler's universal `sqs:sendMessage`
 * target, which takes the queue URL (see `timer/scheduler-timer.ts`).
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SchedulerClient } from "@aws-sdk/client-scheduler";
import { SQSClient } from "@aws-sdk/client-sqs";
import { type ConnectOptions, connect, type JobSystem } from "../connect.js";
import { ValidationError } from "../errors.js";
import { SchedulerTimer, type SchedulerTimerOptions } from "../timer/scheduler-timer.js";

/** Names of the environment variables read here. */
export const environmentVariables = {
  tableName: "JOBS_TABLE_NAME",
  laneUrls: "JOBS_LANE_URLS",
  deadLetterUrls: "JOBS_DEAD_LETTER_URLS",
  webSocketToken: "JOBS_WS_TOKEN",
  webSocketTokenSecretArn: "JOBS_WS_TOKEN_SECRET_ARN",
  webSocketCallbackUrl: "JOBS_WS_CALLBACK_URL",
  scheduleGroupName: "JOBS_SCHEDULE_GROUP_NAME",
  schedulerRoleArn: "JOBS_SCHEDULER_ROLE_ARN",
  schedulerExpiryTargetArn: "JOBS_SCHEDULER_EXPIRY_TARGET_ARN",
  schedulerDeadLetterQueueArn: "JOBS_SCHEDULER_DLQ_ARN",
} as const;

/** The EventBridge Scheduler settings read from the environment. */
export type SchedulerEnvironment = Pick<
  SchedulerTimerOptions,
  "groupName" | "roleArn" | "expiryTargetArn" | "deadLetterQueueArn"
>;

/**
 * Reads the Scheduler timer's variables. Returns `undefined` when neither the group nor
 * the role is set (no timer); throws {@link ValidationError} when only one of them is.
 */
export function readSchedulerEnvironment(
  env: NodeJS.ProcessEnv = process.env,
): SchedulerEnvironment | undefined {
  const v = environmentVariables;
  const groupName = env[v.scheduleGroupName];
  const roleArn = env[v.schedulerRoleArn];
  if (!groupName && !roleArn) return undefined;
  if (!groupName) throw new ValidationError(v.scheduleGroupName, `is not set, but ${v.schedulerRoleArn} is`);
  if (!roleArn) throw new ValidationError(v.schedulerRoleArn, `is not set, but ${v.scheduleGroupName} is`);
  const expiryTargetArn = env[v.schedulerExpiryTargetArn];
  const deadLetterQueueArn = env[v.schedulerDeadLetterQueueArn];
  return {
    groupName,
    roleArn,
    ...(expiryTargetArn ? { expiryTargetArn } : {}),
    ...(deadLetterQueueArn ? { deadLetterQueueArn } : {}),
  };
}

/** Settings of {@link connectFromEnvironment} beyond {@link ConnectOptions}. */
export interface EnvironmentConnectOptions {
  /** The Scheduler client for the timer. @default a new `SchedulerClient({})` when the Scheduler variables are set */
  readonly scheduler?: SchedulerClient;
  /** Expiry target when `JOBS_SCHEDULER_EXPIRY_TARGET_ARN` is not set (the maintenance function passes its own ARN). */
  readonly expiryTargetArn?: string;
}

/**
 * Reads table name, lane URLs and (optionally) dead-letter queue URLs from `env`.
 * Throws {@link ValidationError} naming a missing or malformed variable.
 */
export function readEnvironment(
  env: NodeJS.ProcessEnv = process.env,
): Pick<ConnectOptions, "tableName" | "laneUrls" | "deadLetterUrls"> {
  const tableName = env[environmentVariables.tableName];
  if (!tableName) throw new ValidationError(environmentVariables.tableName, "is not set");
  const raw = env[environmentVariables.laneUrls];
  if (!raw) throw new ValidationError(environmentVariables.laneUrls, "is not set");
  const laneUrls = urlMap(environmentVariables.laneUrls, raw);
  const rawDeadLetters = env[environmentVariables.deadLetterUrls];
  return {
    tableName,
    laneUrls,
    ...(rawDeadLetters
      ? { deadLetterUrls: urlMap(environmentVariables.deadLetterUrls, rawDeadLetters) }
      : {}),
  };
}

/** Parses a JSON object of lane name → queue URL. */
function urlMap(variable: string, raw: string): Record<string, string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (error) {
    throw new ValidationError(variable, "is not JSON", { cause: error });
  }
  if (
    typeof parsed !== "object" ||
    parsed === null ||
    Object.values(parsed).some((url) => typeof url !== "string")
  ) {
    throw new ValidationError(variable, "must be a JSON object of lane name → queue URL");
  }
  return parsed as Record<string, string>;
}

/**
 * Connects with the variables the construct documents and default AWS SDK clients
 * (region and credentials from the usual AWS chain; `AWS_ENDPOINT_URL` honoured).
 * With the Scheduler variables set (and no `timer` given), the system gets a
 * {@link SchedulerTimer}.
 *
 * @example
 * ```ts
 * const { client } = connectFromEnvironment(); // in any Lambda or container granted access
 * await client.trigger("Cleanup");
 * ```
 */
export function connectFromEnvironment(
  options: Omit<ConnectOptions, "tableName" | "laneUrls" | "dynamodb" | "sqs"> &
    Partial<Pick<ConnectOptions, "dynamodb" | "sqs">> &
    EnvironmentConnectOptions = {},
  env: NodeJS.ProcessEnv = process.env,
): JobSystem {
  const { scheduler, expiryTargetArn, ...rest } = options;
  const schedulerEnv = readSchedulerEnvironment(env);
  const timer: ConnectOptions["timer"] =
    rest.timer ??
    (schedulerEnv
      ? ({ dispatcher }) => {
          const target = schedulerEnv.expiryTargetArn ?? expiryTargetArn;
          return new SchedulerTimer({
            ...schedulerEnv,
            ...(target ? { expiryTargetArn: target } : {}),
            scheduler: scheduler ?? new SchedulerClient({}),
            dispatcher,
          });
        }
      : undefined);
  return connect({
    ...rest,
    ...readEnvironment(env),
    dynamodb: options.dynamodb ?? new DynamoDBClient({}),
    sqs: options.sqs ?? new SQSClient({}),
    ...(timer ? { timer } : {}),
  });
}
