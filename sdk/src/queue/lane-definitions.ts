/**
 * The SQS FIFO lanes: one queue per priority band.
 *
 * Workers poll lanes highest band first, so with a backlog a run in a higher band is
 * claimed before any run in a lower one. Within a lane, order is arrival order (FIFO
 * per message group; every message is its own group, so nothing waits behind another).
 * This is the one source of the lanes' shape, shared by the local stack and the CDK
 * construct.
 */

/** One lane: its logical name and the lowest run priority it carries. */
export interface LaneDefinition {
  /** Logical name; the queue is named `<prefix><name>.fifo`. */
  readonly name: string;
  /** Runs with `priority >= minPriority` (and below the next band up) go to this lane. */
  readonly minPriority: number;
}

/**
 * The default three bands: `high` (priority 5 and up), `normal` (0 to 4), `low`
 * (below 0). Ordered highest band first.
 */
export const defaultLanes: readonly LaneDefinition[] = [
  { name: "high", minPriority: 5 },
  { name: "normal", minPriority: 0 },
  { name: "low", minPriority: Number.NEGATIVE_INFINITY },
];

/** SQS queue name of a lane: FIFO queue names must end in `.fifo` (SQS rule). */
export function laneQueueName(prefix: string, lane: LaneDefinition): string {
  return `${prefix}${lane.name}.fifo`;
}

/**
 * Picks the lane for a run priority: the highest band whose `minPriority` the
 * priority reaches. `lanes` must be ordered highest band first, as {@link defaultLanes} is.
 */
export function laneForPriority<L extends LaneDefinition>(lanes: readonly L[], priority: number): L {
  const lane = lanes.find((l) => priority >= l.minPriority) ?? lanes[lanes.length - 1];
  if (!lane) throw new Error("no lanes are configured");
  return lane;
}

/**
 * Queue attributes every lane gets. Visibility is the default hold time of a received
 * message; workers extend it while they wait on `notBefore`. Content-based
 * deduplication is off: each message carries its own deduplication id.
 */
export const laneQueueAttributes = {
  FifoQueue: "true",
  ContentBasedDeduplication: "false",
  VisibilityTimeout: "60",
  MessageRetentionPeriod: String(14 * 24 * 3600),
} as const;
