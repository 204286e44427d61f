/**
 * Sends run messages to the SQS FIFO lanes.
 *
 * A message is only a wake-up: `{ runId, attempt }`, where `attempt` is the run's
 * attempt count when sent (the claim must still see it). `MessageDeduplicationId` is
 * run id + attempt + enqueue count, so a retry or a re-enqueue by the sweep is a new
 * message while an SDK retry of the same send is deduplicated by SQS (5-minute
 * deduplication interval). `MessageGroupId` is the same string: every message is its own
 * group, so nothing ever waits behind another message. (With the run id as the group, a
 * message left in flight by a killed worker blocked the sweep's re-send of that run
 * until its visibility timeout ran out.) Order between messages never matters: each is a
 * wake-up, and the claim's condition decides.
 */
import { SendMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import type { RunItem } from "../store/run-item.js";
import { type LaneDefinition, laneForPriority } from "./lane-definitions.js";

/** A lane with its queue URL. */
export interface Lane extends LaneDefinition {
  readonly queueUrl: string;
}

/** The body of a lane message. */
export interface RunMessage {
  readonly runId: string;
  readonly attempt: number;
}

/** Parses a lane message body; returns `undefined` for anything that is not one. */
export function parseRunMessage(body: string | undefined): RunMessage | undefined {
  try {
    const parsed = JSON.parse(body ?? "") as Partial<RunMessage>;
    if (typeof parsed.runId === "string" && typeof parsed.attempt === "number") {
      return { runId: parsed.runId, attempt: parsed.attempt };
    }
  } catch {
    // not JSON: handled below
  }
  return undefined;
}

export class Dispatcher {
  readonly sqs: SQSClient;
  /** Lanes ordered highest band first. */
  readonly lanes: readonly Lane[];

  constructor(sqs: SQSClient, lanes: readonly Lane[]) {
    if (lanes.length === 0) throw new Error("at least one lane is required");
    this.sqs = sqs;
    this.lanes = [...lanes].sort((a, b) => b.minPriority - a.minPriority);
  }

  /** The lane a run goes to, by its priority. */
  laneFor(run: Pick<RunItem, "priority">): Lane {
    return laneForPriority(this.lanes, run.priority);
  }

  /**
   * Sends the run's message to its lane. The caller has already counted this send in
   * the run's `enqueueCount` (in the write that made the run Pending, or by
   * `RunStore.markEnqueued`), which makes the deduplication id new. Throws what SQS
   * throws; the run stays Pending and the sweep re-enqueues it.
   */
  async send(run: Pick<RunItem, "runId" | "attempt" | "priority" | "enqueueCount">): Promise<void> {
    await this.sqs.send(new SendMessageCommand(this.sendMessageInput(run)));
  }

  /**
   * The `SendMessage` request for the run's current message: what {@link Dispatcher.send}
   * sends, and what a timer sends later (EventBridge Scheduler's `sqs:sendMessage` target).
   */
  sendMessageInput(run: Pick<RunItem, "runId" | "attempt" | "priority" | "enqueueCount">): {
    QueueUrl: string;
    MessageBody: string;
    MessageGroupId: string;
    MessageDeduplicationId: string;
  } {
    const body: RunMessage = { runId: run.runId, attempt: run.attempt };
    const messageId = `${run.runId}-${run.attempt}-${run.enqueueCount}`;
    return {
      QueueUrl: this.laneFor(run).queueUrl,
      MessageBody: JSON.stringify(body),
      MessageGroupId: messageId,
      MessageDeduplicationId: messageId,
    };
  }
}
