/**
 * Telling a lost race from a fault: a single conditional write (`PutItem`, `UpdateItem`,
 * `DeleteItem`) whose condition failed rejects with `ConditionalCheckFailedException`
 * (DynamoDB API reference, "Common errors" of those actions). Callers decide from it, or
 * from the item it carries with `ReturnValuesOnConditionCheckFailure: "ALL_OLD"`; every
 * other error is a fault and is rethrown. (Transactions say it per item instead:
 * `store/transact.ts`.)
 */

/** Whether `error` says that a single write's condition failed. */
export function isConditionFailed(error: unknown): boolean {
  return (error as Error | undefined)?.name === "ConditionalCheckFailedException";
}

/**
 * Awaits one conditional write: `true` when it committed, `false` when its condition
 * failed (a race lost, or a write already made); rethrows any other error.
 */
export async function committed(write: Promise<unknown>): Promise<boolean> {
  try {
    await write;
    return true;
  } catch (error) {
    if (!isConditionFailed(error)) throw error;
    return false;
  }
}
