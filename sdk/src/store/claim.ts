/**
 * The claim: `Pending → Running` for attempt `attempt + 1`, as one conditional
 * `UpdateItem` with no read first. Its conditions are the whole rule: the run is Pending
 * at the attempt the message names, due (`notBefore` passed) and not expired (`notAfter`
 * ahead). The update returns the claimed run (`ALL_NEW`); a failed condition returns the
 * run as it is (`ALL_OLD`), and the caller decides from that image (drop, hold, expire,
 * recover) without another read.
 *
 * The `Running` event is inline: its id is `seq + 1`, computed by the update itself.
 *
 * Later rules join the claim as more items of one transaction (`also`: a check that the
 * parent or batch is not canceled, a concurrency slot, a rate permit), without changing
 * this update: the transaction then commits all or nothing and the claimed run is read back.
 */

import { UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import { RunWriteError } from "../errors.js";
import { isConditionFailed } from "./condition-failed.js";
import { runKey } from "./keys.js";
import type { RunItem, SlotRef } from "./run-item.js";
import type { RunStore } from "./run-store.js";
import { isStoreUnavailable, isUnanswered, unavailablePause } from "./store-unavailable.js";
import { type TransactItem, transactWrite } from "./transact.js";

/** Who claims, and when. */
export interface ClaimRequest {
  readonly runId: string;
  /** The attempt count the wake-up message carries (the run's `attempt` when it was sent). */
  readonly attempt: number;
  readonly workerId: string;
  /** Now, epoch ms. */
  readonly nowMs: number;
  /** A Lambda holder's deadline, epoch ms (see `RunItem.holdUntilMs`). */
  readonly holdUntilMs?: number;
  /** More items that must commit with the claim (checks, slots, permits). */
  readonly also?: readonly TransactItem[];
  /** The concurrency slots `also` takes: recorded on the run, so the transition that ends the attempt frees them. */
  readonly slots?: readonly SlotRef[];
}

/** The claimed run, or the run as it was when the claim's conditions failed (`undefined`: no such run). */
export type ClaimOutcome = { readonly claimed: RunItem } | { readonly current: RunItem | undefined };

/** The claim's `UpdateItem` input. */
function claimUpdate(store: RunStore, request: ClaimRequest) {
  const names: Record<string, string> = {
    "#status": "status",
    "#attempt": "attempt",
    "#nb": "notBeforeMs",
    "#na": "notAfterMs",
    "#startedMs": "startedMs",
    "#workerId": "workerId",
    "#seq": "seq",
    "#startSeq": "startSeq",
    "#inline": "statusInline",
    "#reason": "statusReason",
    "#hold": "holdUntilMs",
  };
  const values: Record<string, unknown> = {
    ":pending": "Pending",
    ":running": "Running",
    ":a": request.attempt,
    ":a1": request.attempt + 1,
    ":now": request.nowMs,
    ":w": request.workerId,
    ":one": 1,
    ":true": true,
  };
  const sets = [
    "#status = :running",
    "#attempt = :a1",
    "#startedMs = :now",
    "#workerId = :w",
    "#seq = #seq + :one",
    "#startSeq = #seq + :one",
    "#inline = :true",
  ];
  const removes = ["#reason"];
  if (request.slots !== undefined) {
    // A limited claim: record the slots and leave any waiter list.
    Object.assign(names, {
      "#slots": "slots",
      "#permits": "permits",
      "#wf": "waitingFor",
      "#wk": "waitKey",
      "#ws": "waitSk",
      "#wp": "waitPk",
    });
    removes.push("#permits", "#wf", "#wk", "#ws", "#wp");
    if (request.slots.length > 0) {
      sets.push("#slots = :slots");
      values[":slots"] = request.slots;
    } else removes.push("#slots");
  }
  if (request.holdUntilMs !== undefined) {
    sets.push("#hold = :hold");
    values[":hold"] = request.holdUntilMs;
  } else removes.push("#hold");
  return {
    TableName: store.tableName,
    Key: runKey(request.runId),
    UpdateExpression: `SET ${sets.join(", ")} REMOVE ${removes.join(", ")}`,
    ConditionExpression:
      "#status = :pending AND #attempt = :a AND (attribute_not_exists(#nb) OR #nb <= :now) AND (attribute_not_exists(#na) OR #na > :now)",
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: values,
  };
}

/**
 * How long a claim whose answer was lost is tried again, in ms: while the store is away,
 * nobody else can claim or recover the run either, so waiting costs only the slot.
 */
export const claimAnswerWaitMs = 10 * 60_000;

/**
 * Claims the run (see the module comment).
 *
 * A try that got no answer (the store went away mid-request: `store-unavailable.ts`)
 * may have committed. The claim is then tried again, unchanged, until the store
 * answers: if the first try did commit, the condition now fails on that very claim
 * (this worker, this attempt, this start time), which is taken as claimed. Giving up
 * would leave the run Running under a worker that forgot it, failed with
 * `LeaseExpiredError` only once that worker stops heartbeating. A first try refused
 * (throttled, say) was not applied: it is thrown as it is, and the message comes back.
 * Gives up with `RunWriteError` after {@link claimAnswerWaitMs}.
 */
export async function claimRun(
  store: RunStore,
  request: ClaimRequest,
  answerWaitMs = claimAnswerWaitMs,
): Promise<ClaimOutcome> {
  const giveUpAt = Date.now() + answerWaitMs;
  let inDoubt = false;
  for (let tries = 0; ; tries++) {
    try {
      const outcome = await claimOnce(store, request);
      if (inDoubt && "current" in outcome && outcome.current && isThisClaim(outcome.current, request))
        return { claimed: outcome.current };
      return outcome;
    } catch (error) {
      if (!inDoubt && !isUnanswered(error)) throw error;
      inDoubt = true;
      if (!isStoreUnavailable(error) || Date.now() > giveUpAt)
        throw new RunWriteError(request.runId, request.attempt + 1, "claim", error);
      await unavailablePause(tries);
    }
  }
}

/** Whether `run` is as the claim of `request` left it (so a lost answer committed it). */
function isThisClaim(run: RunItem, request: ClaimRequest): boolean {
  return (
    run.status === "Running" &&
    run.attempt === request.attempt + 1 &&
    run.workerId === request.workerId &&
    run.startedMs === request.nowMs
  );
}

/** One try of the claim. */
async function claimOnce(store: RunStore, request: ClaimRequest): Promise<ClaimOutcome> {
  const update = claimUpdate(store, request);
  if (request.also && request.also.length > 0) {
    const outcome = await transactWrite(store.doc, [
      { Update: { ...update, ReturnValuesOnConditionCheckFailure: "ALL_OLD" } },
      ...request.also,
    ]);
    if (!outcome.ok)
      return {
        current: (outcome.currentItems.get(0) as RunItem | undefined) ?? (await store.get(request.runId)),
      };
    const claimed = await store.get(request.runId);
    return claimed ? { claimed } : { current: undefined };
  }
  try {
    const out = await store.doc.send(
      new UpdateCommand({
        ...update,
        ReturnValues: "ALL_NEW",
        ReturnValuesOnConditionCheckFailure: "ALL_OLD",
      }),
    );
    return { claimed: out.Attributes as RunItem };
  } catch (error) {
    if (!isConditionFailed(error)) throw error;
    const item = (error as { Item?: Record<string, never> }).Item;
    return { current: item ? (unmarshall(item) as RunItem) : undefined };
  }
}
