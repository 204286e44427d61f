/**
 * Write units per partition key: a middleware on a DynamoDB client that adds, for every
 * write it sends (failed conditional writes included: they consume capacity too), the
 * units it costs to the partition key it writes. Items here are under 1 KB: 1 WU per
 * single write, 2 WU per item of a `TransactWriteItems` (`metrics/capacity-rules.ts`).
 * It answers "which partition is hot", which the capacity recorder's per-table totals do not.
 */
import { addMiddleware, type SdkClient } from "../../sdk/src/metrics/sdk-middleware.js";

type Key = { readonly pk?: unknown };
type TransactAction = Partial<
  Record<"Put" | "Update" | "Delete" | "ConditionCheck", { readonly Key?: Key; readonly Item?: Key }>
>;

/** Attaches to `client` (a document client: inputs are read before marshalling) and returns the live tally. */
export function recordPartitionWrites(client: SdkClient, name = "partitionWrites"): Map<string, number> {
  const units = new Map<string, number>();
  const add = (key: Key | undefined, wu: number) => {
    if (typeof key?.pk === "string") units.set(key.pk, (units.get(key.pk) ?? 0) + wu);
  };
  addMiddleware(client, "initialize", name, (next, operation) => (args) => {
    const input = args.input as { Key?: Key; Item?: Key; TransactItems?: TransactAction[] };
    if (operation === "PutItem") add(input.Item, 1);
    else if (operation === "UpdateItem" || operation === "DeleteItem") add(input.Key, 1);
    else if (operation === "TransactWriteItems")
      for (const action of input.TransactItems ?? []) {
        const write = action.Put ?? action.Update ?? action.Delete;
        if (write) add(write.Key ?? write.Item, 2);
      }
    return next(args);
  });
  return units;
}

/** The units of the partitions whose key starts with `prefix`, busiest first. */
export function unitsUnder(units: ReadonlyMap<string, number>, prefix: string): [string, number][] {
  return [...units].filter(([pk]) => pk.startsWith(prefix)).sort((a, b) => b[1] - a[1]);
}
