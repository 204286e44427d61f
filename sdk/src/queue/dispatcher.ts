/**
 * Sends run messages (wake-ups) to the SQS FIFO lanes.
 *
 * A message is only a wake-up: `{ runId, attempt }`, where `attempt` is the run's
 * attempt count when sent (the claim must still see it). A child run's message also
 * names its parent and the parent's attempt that created it (`parentRunId`,
 * `parentAttempt`, which never change), so the worker checks the parent before it claims
 * (`domain/lineage.ts`) without reading the child first; a batch child's names its batch,
 * checked the same way; and the job's name, so a worker knows without a read whether
 * the claim takes concurrency slots or rate permits. `MessageDeduplicationId` is
 * run id + attempt + enqueue count, so each wake-up the run item counts is one message:
 * the writer's own send (the fast path) and the table stream consumer's send of the same
 * wake-up (the reliable path) carry the same id, and SQS drops the second within its
 * 5-minute deduplication interval (a later copy fails the claim). `MessageGroupId` is the
 * same string: one group per wake-up, so a dead attempt's in-flight message never delays
 * its run's next one. With high-throughput FIFO (`DeduplicationScope: messageGroup`,
 * `FifoThroughputLimit: perMessageGroupId`), the per-queue limit no longer applies to
 * groups this small. Order between messages never matters: the claim's condition decides.
 */
import { SendMessageBatchCommand, SendMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import type { RunItem } from "../store/run-item.js";
import { type LaneDefinition, laneForPriority, lanePriority } from "./lane-definitions.js";

/** A lane with its queue URL (and its dead-letter queue's, for the maintenance pass that drains it). */
export interface Lane extends LaneDefinition {
  readonly queueUrl: string;
  readonly deadLetterQueueUrl?: string;
}

/** What a wake-up message is built from. */
export type WakeUp = Pick<
  RunItem,
  "runId" | "attempt" | "priority" | "enqueueCount" | "parentRunId" | "parentAttempt" | "batchId"
> &
  Partial<Pick<RunItem, "jobName" | "queuePriority">>;

/** Most entries in one `SendMessageBatch` (SQS limit). */
const batchLimit = 10;

/** The body of a lane message. */
export interface RunMessage {
  readonly runId: string;
  readonly attempt: number;
  /** A child run's parent. */
  readonly parentRunId?: string;
  /** The parent's attempt that created the child. */
  readonly parentAttempt?: number;
  /** A batch child's batch (checked before the claim: a canceled batch's child never starts). */
  readonly batchId?: string;
  /** The run's job: a worker knows without a read whether the claim takes slots or permits. */
  readonly jobName?: string;
  /**
   * Not a run's wake-up but a rate limit's: at `atMs`, wake that limit's waiters (one
   * message per limit and wake-up time, held by visibility until then; `runId` names it).
   */
  readonly limitWake?: { readonly key: string; readonly atMs: number };
}

/** Parses a lane message body; returns `undefined` for anything that is not one. */
export function parseRunMessage(body: string | undefined): RunMessage | undefined {
  try {
    const parsed = JSON.parse(body ?? "") as Partial<RunMessage>;
    if (typeof parsed.runId === "string" && typeof parsed.attempt === "number") {
      return {
        runId: parsed.runId,
        attempt: parsed.attempt,
        ...(typeof parsed.parentRunId === "string" ? { parentRunId: parsed.parentRunId } : {}),
        ...(typeof parsed.parentAttempt === "number" ? { parentAttempt: parsed.parentAttempt } : {}),
        ...(typeof parsed.batchId === "string" ? { batchId: parsed.batchId } : {}),
        ...(typeof parsed.jobName === "string" ? { jobName: parsed.jobName } : {}),
        ...(typeof parsed.limitWake?.key === "string" && typeof parsed.limitWake.atMs === "number"
          ? { limitWake: { key: parsed.limitWake.key, atMs: parsed.limitWake.atMs } }
          : {}),
      };
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

  /** The lane a run goes to: by its queue's priority when not 0, else by its own (`lanePriority`). */
  laneFor(run: Pick<RunItem, "priority" | "queuePriority">): Lane {
    return laneForPriority(this.lanes, lanePriority(run));
  }

  /**
   * Sends the run's message to its lane. The write that made the run Pending has already
   * counted this wake-up in the run's `enqueueCount`, which makes the deduplication id.
   * Throws what SQS throws; the table stream's consumer sends the same wake-up anyway.
   */
  async send(run: WakeUp): Promise<void> {
    await this.sqs.send(new SendMessageCommand(this.sendMessageInput(run)));
  }

  /**
   * Sends a limit's wake-up for `atMs` to the highest lane (the worker that receives it
   * early holds it until then). One per limit key and time: a repeat has the same
   * deduplication id.
   */
  async sendLimitWake(key: string, atMs: number): Promise<void> {
    const id = `wake-${key}-${atMs}`;
    const body: RunMessage = { runId: id, attempt: 0, limitWake: { key, atMs } };
    await this.sqs.send(
      new SendMessageCommand({
        QueueUrl: (this.lanes[0] as Lane).queueUrl,
        MessageBody: JSON.stringify(body),
        MessageGroupId: id,
        MessageDeduplicationId: id,
      }),
    );
  }

  /**
   * Sends many wake-ups, 10 per `SendMessageBatch` per lane. Throws when any entry
   * failed (after the others were sent), naming how many: the caller retries the whole
   * set, which is safe because every entry carries its deduplication id.
   */
  async sendBatch(runs: readonly WakeUp[]): Promise<void> {
    const byLane = new Map<string, ReturnType<Dispatcher["sendMessageInput"]>[]>();
    for (const run of runs) {
      const input = this.sendMessageInput(run);
      byLane.set(input.QueueUrl, [...(byLane.get(input.QueueUrl) ?? []), input]);
    }
    const failures: string[] = [];
    await Promise.all(
      [...byLane].flatMap(([queueUrl, inputs]) =>
        // Every request of every lane at once: a batch's fan-out sends hundreds of wake-ups in one go.
        Array.from({ length: Math.ceil(inputs.length / batchLimit) }, async (_, part) => {
          const i = part * batchLimit;
          const out = await this.sqs.send(
            new SendMessageBatchCommand({
              QueueUrl: queueUrl,
              Entries: inputs.slice(i, i + batchLimit).map((input, j) => ({
                Id: String(j),
                MessageBody: input.MessageBody,
                MessageGroupId: input.MessageGroupId,
                MessageDeduplicationId: input.MessageDeduplicationId,
              })),
            }),
          );
          for (const failed of out.Failed ?? []) failures.push(`${failed.Code}: ${failed.Message ?? ""}`);
        }),
      ),
    );
    if (failures.length > 0) throw new Error(`${failures.length} wake-ups were not sent (${failures[0]})`);
  }

  /**
   * The `SendMessage` request for the run's current message: what {@link Dispatcher.send}
   * sends, and what a timer sends later (EventBridge Scheduler's `sqs:sendMessage` target).
   */
  sendMessageInput(run: WakeUp): {
    QueueUrl: string;
    MessageBody: string;
    MessageGroupId: string;
    MessageDeduplicationId: string;
  } {
    const body: RunMessage = {
      runId: run.runId,
      attempt: run.attempt,
      ...(run.parentRunId !== undefined ? { parentRunId: run.parentRunId } : {}),
      ...(run.parentAttempt !== undefined ? { parentAttempt: run.parentAttempt } : {}),
      ...(run.batchId !== undefined ? { batchId: run.batchId } : {}),
      ...(run.jobName !== undefined ? { jobName: run.jobName } : {}),
    };
    const messageId = `${run.runId}-${run.attempt}-${run.enqueueCount}`;
    return {
      QueueUrl: this.laneFor(run).queueUrl,
      MessageBody: JSON.stringify(body),
      MessageGroupId: messageId,
      MessageDeduplicationId: messageId,
    };
  }
}
