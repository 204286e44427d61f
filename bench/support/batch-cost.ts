/**
 * What a batch costs per child, measured on a bench system: the write and read units of
 * every component (client, workers, stream consumers), per operation and target, divided
 * by the number of children. Shared by `bench/batch.ts` and the batch case of `bench/cost.ts`.
 */
import type { BenchSystem } from "./bench-system.js";

const round = (x: number, digits = 3) => Math.round(x * 10 ** digits) / 10 ** digits;

/** Write and read units per child, in total and per component/operation/target. */
export function perChildUnits(system: BenchSystem, children: number) {
  const breakdown = system.capacity.breakdown();
  const rows: Record<string, { WU: number; RU: number }> = {};
  let writeUnits = 0;
  let readUnits = 0;
  for (const [component, operations] of Object.entries(breakdown)) {
    for (const [operation, targets] of Object.entries(operations)) {
      for (const [target, units] of Object.entries(targets)) {
        if (units.writeUnits === 0 && units.readUnits === 0) continue;
        rows[`${component} ${operation} ${target}`] = {
          WU: round(units.writeUnits / children),
          RU: round(units.readUnits / children),
        };
        writeUnits += units.writeUnits;
        readUnits += units.readUnits;
      }
    }
  }
  const failed = system.capacity.totals().total.failedConditionalWrites;
  return { writeUnits: round(writeUnits / children), readUnits: round(readUnits / children), failed, rows };
}
