/**
 * The single DynamoDB table: key schema and secondary indexes.
 *
 * This is the one source of the table's shape. The local stack creates the table
 * from {@link tableDefinition}; the CDK construct reads the same object, so the two
 * cannot drift. See DESIGN.md §3 for the items stored in it.
 */

/** A global secondary index: its name and the attributes that key it (both strings). */
export interface IndexDefinition {
  readonly indexName: string;
  readonly partitionKey: string;
  readonly sortKey: string;
}

/** The table's key attributes and indexes. All key attributes are strings (`S`). */
export interface TableDefinition {
  readonly partitionKey: "pk";
  readonly sortKey: "sk";
  /** Attribute holding an epoch-seconds expiry, for DynamoDB TTL. */
  readonly timeToLiveAttribute: "expiresAt";
  readonly indexes: readonly IndexDefinition[];
}

/** Index names, as used in queries. */
export const IndexName = {
  /** Runs of one job, newest first: `JOB#<name>` / `<createdAt>#<runId>`. */
  byJob: "byJob",
  /** Children of one run, in creation order: `PARENT#<runId>` / `<createdAt>#<runId>`. */
  byParent: "byParent",
  /** Runs in one status, by creation time: `STATUS#<status>` / `<createdAt>#<runId>`. */
  byStatus: "byStatus",
  /**
   * Sparse: non-terminal runs by the time they need attention. Pending runs by due time
   * (`notBefore` or creation), Running runs by lease expiry: `DUE#<status>` / `<epoch ms, padded>#<runId>`.
   */
  byDue: "byDue",
} as const;

/** The table definition shared by the local stack and the CDK construct. */
export const tableDefinition: TableDefinition = {
  partitionKey: "pk",
  sortKey: "sk",
  timeToLiveAttribute: "expiresAt",
  indexes: [
    { indexName: IndexName.byJob, partitionKey: "jobPk", sortKey: "createdSk" },
    { indexName: IndexName.byParent, partitionKey: "parentPk", sortKey: "createdSk" },
    { indexName: IndexName.byStatus, partitionKey: "statusPk", sortKey: "createdSk" },
    { indexName: IndexName.byDue, partitionKey: "duePk", sortKey: "dueSk" },
  ],
};
