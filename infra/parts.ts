/**
 * The parts a `JobSystem` is composed of, as the functions are wired to them, and the
 * client grant over them (what the SDK client does with the table, the lanes and the timers).
 */
import type * as iam from "aws-cdk-lib/aws-iam";
import type * as kms from "aws-cdk-lib/aws-kms";
import { grantKey } from "./encryption.js";
import type { JobsTable } from "./jobs-table.js";
import type { JobLanes } from "./lanes.js";
import type { RealtimeApi } from "./realtime-api.js";
import type { JobTimers } from "./timers.js";

/** The parts of a job system. */
export interface JobSystemParts {
  readonly table: JobsTable;
  readonly lanes: JobLanes;
  readonly timers: JobTimers;
  /** The WebSocket API (none with `webSocket: false`). */
  readonly realtime: RealtimeApi | undefined;
  /** The customer managed key of the table and the queues (none: AWS and SQS managed keys). */
  readonly encryptionKey: kms.IKey | undefined;
}

/**
 * DynamoDB actions on items that the SDK client uses: reads (`GetItem`, `Query`, and
 * `BatchGetItem` for the run items a `getRuns` listing names) and
 * the writes inside `TransactWriteItems` (which IAM checks per item as `PutItem`,
 * `UpdateItem`, `DeleteItem`, `ConditionCheckItem`; there is no `TransactWriteItems`
 * action). No table administration, no `Scan`.
 */
export const tableItemActions = [
  "dynamodb:GetItem",
  "dynamodb:Query",
  "dynamodb:BatchGetItem",
  "dynamodb:PutItem",
  "dynamodb:UpdateItem",
  "dynamodb:DeleteItem",
  "dynamodb:ConditionCheckItem",
] as const;

/**
 * What the SDK client may do: item reads and writes on the table and its indexes,
 * `sqs:SendMessage` on the lanes, the Scheduler timer's schedules and role, and the
 * customer key when there is one. `JobSystem.grantClient` is this.
 */
export function grantClient(parts: JobSystemParts, grantee: iam.IGrantable): iam.Grant {
  return parts.table
    .grantItems(grantee, tableItemActions, { indexes: true })
    .combine(parts.lanes.grantSendMessages(grantee))
    .combine(parts.timers.grantManageSchedules(grantee))
    .combine(grantKey(parts.encryptionKey, grantee));
}
