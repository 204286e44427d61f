/**
 * The single DynamoDB table: key schema and secondary indexes.
 *
 * This is the one source of the table's shape. The local stack creates the table
 * from {@link tableDefinition}; the CDK construct reads the same object, so the two
 * cannot drift. See docs/ARCHITECTURE.md ("Data model") for every item kind and why no
 * index key can be hot.
 *
 * Every index is sparse, sharded and `KEYS_ONLY`: an entry holds the table keys and its
 * own keys only, and is written when the run is created (its keys never change), so a
 * run's later writes (claim, completion) touch no index at all.
 */

/** A global secondary index: its name, the attributes that key it (both strings) and its projection. */
export interface IndexDefinition {
  readonly indexName: string;
  readonly partitionKey: string;
  readonly sortKey: string;
  /** Only the keys are projected: readers fetch the run items they list. */
  readonly projection: "KEYS_ONLY";
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
  /** Runs of one job, newest first: `JOB#<name>#<shard>` / `<createdAt>#<runId>`. */
  byJob: "byJob",
  /** Children of one run, in creation order: `PARENT#<runId>#<shard>` / `<createdAt>#<runId>`. */
  byParent: "byParent",
  /**
   * Sparse: Pending runs due beyond the visibility hold that no timer releases (a
   * system without a timer): `LATER#<shard>` / `<due epoch ms, padded>#<runId>`.
   */
  byLater: "byLater",
} as const;

/** The table definition shared by the local stack and the CDK construct. */
export const tableDefinition: TableDefinition = {
  partitionKey: "pk",
  sortKey: "sk",
  timeToLiveAttribute: "expiresAt",
  indexes: [
    { indexName: IndexName.byJob, partitionKey: "jobPk", sortKey: "createdSk", projection: "KEYS_ONLY" },
    {
      indexName: IndexName.byParent,
      partitionKey: "parentPk",
      sortKey: "createdSk",
      projection: "KEYS_ONLY",
    },
    { indexName: IndexName.byLater, partitionKey: "laterPk", sortKey: "dueSk", projection: "KEYS_ONLY" },
  ],
};
