/**
 * Reading and taking a limit's slots. A limit's slots and waiters share one partition
 * (`LIMIT#<limitKey>`, `store/keys.ts`): one strongly consistent `Query` with
 * `Limit` = slots + 1 reads every held slot and the first waiter (about 0.5 RU for a
 * small limit).
 */
import { limitPk, slotKey, slotSkPrefix, waiterSkPrefix } from "../store/keys.js";
import type { RunItem, SlotRef } from "../store/run-item.js";
import type { RunStore } from "../store/run-store.js";
import type { TransactItem } from "../store/transact.js";

/** A limit as read now: which slots are held and the first waiter's sort key. */
export interface LimitState {
  readonly held: ReadonlySet<number>;
  readonly headWaiterSk: string | undefined;
}

/** Reads the held slots and the head waiter of a limit with `max` slots. */
export async function readLimit(store: RunStore, limitKey: string, max: number): Promise<LimitState> {
  const held = new Set<number>();
  let headWaiterSk: string | undefined;
  for await (const item of store.query<{ sk: string }>({
    KeyConditionExpression: "pk = :pk",
    ExpressionAttributeValues: { ":pk": limitPk(limitKey) },
    ProjectionExpression: "sk",
    ConsistentRead: true,
    Limit: max + 1,
  })) {
    if (item.sk.startsWith(slotSkPrefix)) held.add(Number(item.sk.slice(slotSkPrefix.length)));
    else if (item.sk.startsWith(waiterSkPrefix)) {
      headWaiterSk = item.sk;
      break;
    }
  }
  return { held, headWaiterSk };
}

/** A free slot of `state`, picked at random (so concurrent claimers rarely pick the same), or `undefined` when all are held. */
export function freeSlot(state: LimitState, max: number): number | undefined {
  const free = Array.from({ length: max }, (_, k) => k).filter((k) => !state.held.has(k));
  return free[Math.floor(Math.random() * free.length)];
}

/** The claim transaction's item that takes slot `k` for `run` (fails if the slot was taken meanwhile). */
export function takeSlot(
  store: RunStore,
  limitKey: string,
  k: number,
  max: number,
  run: Pick<RunItem, "runId" | "attempt">,
): { item: TransactItem; ref: SlotRef } {
  const key = slotKey(limitKey, k);
  const ref = { ...key, max };
  return {
    ref,
    item: {
      Put: {
        TableName: store.tableName,
        Item: { ...key, kind: "slot", runId: run.runId, attempt: run.attempt + 1 },
        ConditionExpression: "attribute_not_exists(pk)",
      },
    },
  };
}
