/**
 * The job table: keys and indexes from `sdk/src/store/table-definition.ts`, its stream,
 * the grants on its items, and the (at most two) functions that consume its stream.
 */
import type { Duration, RemovalPolicy } from "aws-cdk-lib";
import * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as kms from "aws-cdk-lib/aws-kms";
import * as lambda from "aws-cdk-lib/aws-lambda";
import { Construct } from "constructs";
import { ValidationError } from "../sdk/src/errors.js";
import { type IndexDefinition, tableDefinition } from "../sdk/src/store/table-definition.js";

/** Properties of a {@link JobsTable}. */
export interface JobsTableProps {
  /** What happens to the table when it leaves the stack. */
  readonly removalPolicy: RemovalPolicy;
  /** Continuous backups (restore to any second of the last 35 days). */
  readonly pointInTimeRecovery: boolean;
  /**
   * A customer managed key to encrypt the table with.
   *
   * @default - the AWS managed key (`aws/dynamodb`)
   */
  readonly encryptionKey?: kms.IKey;
}

/** Which items of the table a grant of {@link JobsTable.grantItems} covers. */
export interface TableItemScope {
  /**
   * The indexes too, each by name (queries of `byJob`, `byParent`, `byLater`): `true`
   * for all of them, or the names of some.
   *
   * @default false
   */
  readonly indexes?: boolean | readonly string[];
  /**
   * Only items whose partition key starts with one of these prefixes (an IAM
   * `dynamodb:LeadingKeys` condition, checked on every item of a batch or transaction).
   *
   * @default - every item
   */
  readonly partitionKeyPrefixes?: readonly string[];
}

/** How a {@link JobsTable.addStreamConsumer} mapping batches the stream. */
export interface StreamConsumerOptions {
  /** Most records per invocation (1 to 10,000). */
  readonly batchSize: number;
  /**
   * How long Lambda gathers records before invoking, up to `batchSize`.
   *
   * @default - none: invoked as soon as records arrive
   */
  readonly maxBatchingWindow?: Duration;
  /**
   * Lambda event filters (`lambda.FilterCriteria.filter(…)`): records matching none are
   * dropped before the function is invoked (and billed). Empty: every record.
   */
  readonly filters: readonly Record<string, unknown>[];
}

/** The index projections the table definition may ask for, as CDK names them. */
const projectionTypes: Record<IndexDefinition["projection"], dynamodb.ProjectionType> = {
  KEYS_ONLY: dynamodb.ProjectionType.KEYS_ONLY,
};

/**
 * The single DynamoDB table of runs, events, job records and subscriptions: on-demand,
 * with a stream of new and old images, TTL on `expiresAt`, point-in-time recovery and
 * encryption. Its indexes are sparse, sharded and `KEYS_ONLY`, as the table definition says.
 *
 * @example
 * ```ts
 * const jobsTable = new JobsTable(this, "Table", { removalPolicy: RemovalPolicy.RETAIN, pointInTimeRecovery: true });
 * jobsTable.grantItems(fn, ["dynamodb:GetItem", "dynamodb:Query"]);
 * ```
 */
export class JobsTable extends Construct {
  /**
   * Most event source mappings on the stream. DynamoDB Streams throttles a shard read by
   * more than two consumers at once, so the job system has two: the stream dispatch
   * (wake-ups, timers, fanout) and the projections (aggregates).
   */
  static readonly maxStreamConsumers = 2;

  /** The table. */
  readonly table: dynamodb.Table;

  readonly #streamConsumers: lambda.IFunction[] = [];

  constructor(scope: Construct, id: string, props: JobsTableProps) {
    super(scope, id);
    // "Default" is left out of logical ids by CDK: as JobSystem's `Resource` child, the
    // table keeps the logical id it had when JobSystem created it directly.
    this.table = new dynamodb.Table(this, "Default", {
      partitionKey: { name: tableDefinition.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: tableDefinition.sortKey, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      stream: dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
      timeToLiveAttribute: tableDefinition.timeToLiveAttribute,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: props.pointInTimeRecovery },
      ...(props.encryptionKey
        ? { encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED, encryptionKey: props.encryptionKey }
        : { encryption: dynamodb.TableEncryption.AWS_MANAGED }),
      removalPolicy: props.removalPolicy,
    });
    for (const index of tableDefinition.indexes) {
      this.table.addGlobalSecondaryIndex({
        indexName: index.indexName,
        partitionKey: { name: index.partitionKey, type: dynamodb.AttributeType.STRING },
        sortKey: { name: index.sortKey, type: dynamodb.AttributeType.STRING },
        projectionType: projectionTypes[index.projection],
      });
    }
  }

  /** The functions reading the stream, in the order they were added. */
  get streamConsumers(): readonly lambda.IFunction[] {
    return this.#streamConsumers;
  }

  /**
   * Lets `grantee` perform item `actions` (`dynamodb:GetItem`, …) on the table, and on
   * its indexes with `indexes: true`, optionally only on items of some partitions. No
   * key grant: callers add that once per grantee (`grantKey`).
   *
   * @example
   * ```ts
   * jobsTable.grantItems(fn, ["dynamodb:BatchWriteItem"], { partitionKeyPrefixes: ["SUB#", "CONN#"] });
   * ```
   */
  grantItems(grantee: iam.IGrantable, actions: readonly string[], scope: TableItemScope = {}): iam.Grant {
    const tableArn = this.table.tableArn;
    return iam.Grant.addToPrincipal({
      grantee,
      actions: [...actions],
      resourceArns: [
        tableArn,
        ...tableDefinition.indexes
          .filter((index) => scope.indexes === true || (scope.indexes || []).includes(index.indexName))
          .map((index) => `${tableArn}/index/${index.indexName}`),
      ],
      ...(scope.partitionKeyPrefixes
        ? {
            conditions: {
              "ForAllValues:StringLike": {
                "dynamodb:LeadingKeys": scope.partitionKeyPrefixes.map((prefix) => `${prefix}*`),
              },
            },
          }
        : {}),
    });
  }

  /**
   * Feeds `fn` from the table's stream. Every consumer gets the same delivery policy,
   * because what they do must not be lost: it starts at the oldest record kept
   * (`TRIM_HORIZON`, 24 hours), retries a failing batch until it succeeds or its records
   * leave the stream (retries and record age infinite, `-1`), halves a failing batch to
   * find the bad record (`bisectBatchOnError`), and takes the handler's partial batch
   * response (`ReportBatchItemFailures`), so one failing record holds back only the
   * records after it on its shard. That wait shows as the function's `IteratorAge`.
   * Also grants the stream reads (and decryption with a customer key).
   *
   * @example
   * ```ts
   * jobsTable.addStreamConsumer(fn, {
   *   batchSize: 100,
   *   filters: [lambda.FilterCriteria.filter({ dynamodb: { NewImage: { kind: { S: lambda.FilterRule.isEqual("run") } } } })],
   * });
   * ```
   */
  addStreamConsumer(fn: lambda.IFunction, options: StreamConsumerOptions): lambda.EventSourceMapping {
    if (this.#streamConsumers.length >= JobsTable.maxStreamConsumers) {
      throw new ValidationError(
        `${this.node.path} stream`,
        `has ${JobsTable.maxStreamConsumers} consumers already (more than two readers of a shard are throttled)`,
      );
    }
    const streamArn = this.table.tableStreamArn;
    if (!streamArn) throw new ValidationError(`${this.node.path} stream`, "the table has no stream");
    const mapping = fn.addEventSourceMapping("TableStream", {
      eventSourceArn: streamArn,
      startingPosition: lambda.StartingPosition.TRIM_HORIZON,
      batchSize: options.batchSize,
      ...(options.maxBatchingWindow ? { maxBatchingWindow: options.maxBatchingWindow } : {}),
      retryAttempts: -1,
      bisectBatchOnError: true,
      reportBatchItemFailures: true,
      ...(options.filters.length > 0 ? { filters: [...options.filters] } : {}),
    });
    // CDK's maxRecordAge takes 60 s to 7 days only; CloudFormation's -1 means infinite.
    (mapping.node.defaultChild as lambda.CfnEventSourceMapping).maximumRecordAgeInSeconds = -1;
    this.table.grantStreamRead(fn);
    this.#streamConsumers.push(fn);
    return mapping;
  }
}
