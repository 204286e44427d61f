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
 * The priority that picks a run's lane band: its queue's priority when that is not 0,
 * else the run's own. So a run of a high-priority queue is in a higher band than any run
 * of a normal queue, whatever its own priority; within a queue of priority 0, the run's
 * priority decides, as before. (Exact order among runs waiting on a limit is the waiter
 * list's: queue priority, run priority, due time, creation.)
 */
export function lanePriority(run: { readonly priority: number; readonly queuePriority?: number }): number {
  return run.queuePriority !== undefined && run.queuePriority !== 0 ? run.queuePriority : run.priority;
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
 * message: a worker holding a run extends it while the run executes (the message is the
 * run's lease), and sets it while it waits on `notBefore`. Content-based deduplication is
 * off: each message carries its own deduplication id. High-throughput FIFO
 * (`DeduplicationScope: messageGroup`, `FifoThroughputLimit: perMessageGroupId`; SQS
 * developer guide, "High throughput for FIFO queues"): every wake-up is its own group,
 * so throughput is not capped per queue.
 */
export const laneQueueAttributes = {
  FifoQueue: "true",
  ContentBasedDeduplication: "false",
  DeduplicationScope: "messageGroup",
  FifoThroughputLimit: "perMessageGroupId",
  VisibilityTimeout: "60",
  MessageRetentionPeriod: String(14 * 24 * 3600),
} as const;

/**
 * Receives before a lane message moves to its dead-letter queue. High, because a held
 * message (a run waiting for `notBefore`, or the returned message of a running attempt)
 * is received again each time its hold ends.
 */
export const laneMaxReceiveCount = 1000;

/** SQS queue name of a lane's dead-letter queue (FIFO too: a FIFO queue's DLQ must be FIFO). */
export function deadLetterQueueName(prefix: string, lane: LaneDefinition): string {
  return `${prefix}${lane.name}-dlq.fifo`;
}
