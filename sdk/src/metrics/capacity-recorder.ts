/**
 * Records the DynamoDB capacity units a process consumes, by component, operation and
 * target (table or index): how the project measures what it costs on AWS. The rules for
 * what each request costs are in capacity-rules.ts; item sizes in item-size.ts.
 */
import {
  type CapacityUnits,
  capacityOperations,
  failureCost,
  type RequestCost,
  successCost,
} from "./capacity-rules.js";
import { addMiddleware, type SdkClient } from "./sdk-middleware.js";

export type { CapacityUnits } from "./capacity-rules.js";

/** Totals of one component (or of all), in capacity units and request counts. */
export interface ComponentCapacity extends CapacityUnits {
  /** Requests sent, by operation (`"PutItem"`), failed ones included. */
  requests: Record<string, number>;
  /** Conditional writes that failed their condition; their units are in `writeUnits`. */
  failedConditionalWrites: number;
}

/** {@link CapacityRecorder.totals}: per component, and over all components. */
export interface CapacityTotals {
  byComponent: Record<string, ComponentCapacity>;
  total: ComponentCapacity;
}

/** {@link CapacityRecorder.breakdown}: component → operation → target (`"jobs"`, `"jobs/byJob"`) → units. */
export type CapacityBreakdown = Record<string, Record<string, Record<string, CapacityUnits>>>;

/**
 * Attaches to DynamoDB clients and records what each request costs in read and write
 * units, as AWS would bill it on demand:
 * - adds `ReturnConsumedCapacity: "INDEXES"` to every request that accepts it, unless the
 *   caller set its own value (then only what that value returns is recorded);
 * - records the table and per-index units DynamoDB reports;
 * - recomputes transactions, and costs failed conditional writes and canceled
 *   transactions, which DynamoDB Local under-reports (see `successCost` and `failureCost`
 *   in capacity-rules.ts for each rule and its source).
 *
 * @example
 * ```ts
 * const recorder = new CapacityRecorder();
 * recorder.attach(clientDynamoDb, "client");
 * recorder.attach(workerDynamoDb, "worker");
 * await client.run(add, { a: 1, b: 2 });
 * recorder.totals().byComponent.worker.writeUnits; // e.g. 6
 * ```
 */
export class CapacityRecorder {
  readonly #components = new Map<string, ComponentRecord>();

  /**
   * Records `client`'s requests under `component`. `client` is a `DynamoDBClient` or a
   * `DynamoDBDocumentClient`; a document client shares its base client's middleware stack,
   * so attach one of the two, once per component.
   */
  attach(client: SdkClient, component: string): void {
    addMiddleware(
      client,
      "initialize",
      `capacityRecorder-request-${component}`,
      (next, operation) => (args) => {
        if (!capacityOperations[operation] || args.input.ReturnConsumedCapacity !== undefined)
          return next(args);
        return next({ ...args, input: { ...args.input, ReturnConsumedCapacity: "INDEXES" } });
      },
    );
    // At `build` the input is marshalled (item sizes need AttributeValues) and the
    // outcome is final (retries happen below, in `finalizeRequest`).
    addMiddleware(client, "build", `capacityRecorder-${component}`, (next, operation) => async (args) => {
      const record = this.#component(component);
      record.requests.set(operation, (record.requests.get(operation) ?? 0) + 1);
      try {
        const result = await next(args);
        record.add(operation, successCost(operation, args.input, result.output));
        return result;
      } catch (error) {
        record.add(operation, failureCost(operation, args.input, error));
        throw error;
      }
    });
  }

  /** Forgets everything recorded so far (attachments stay). */
  reset(): void {
    this.#components.clear();
  }

  /** Units, requests and failed conditional writes per component and in total. */
  totals(): CapacityTotals {
    const byComponent: Record<string, ComponentCapacity> = {};
    const total = emptyTotals();
    for (const [name, record] of this.#components) {
      const totals = record.totals();
      byComponent[name] = totals;
      total.readUnits += totals.readUnits;
      total.writeUnits += totals.writeUnits;
      total.failedConditionalWrites += totals.failedConditionalWrites;
      for (const [operation, count] of Object.entries(totals.requests)) {
        total.requests[operation] = (total.requests[operation] ?? 0) + count;
      }
    }
    return { byComponent, total };
  }

  /** Units per component, operation and target. Operations that cost nothing are left out. */
  breakdown(): CapacityBreakdown {
    const result: CapacityBreakdown = {};
    for (const [name, record] of this.#components) {
      result[name] = Object.fromEntries(
        [...record.units].map(([operation, targets]) => [
          operation,
          Object.fromEntries([...targets].map(([target, units]) => [target, { ...units }])),
        ]),
      );
    }
    return result;
  }

  #component(name: string): ComponentRecord {
    let record = this.#components.get(name);
    if (!record) {
      record = new ComponentRecord();
      this.#components.set(name, record);
    }
    return record;
  }
}

/** What one component consumed so far. */
class ComponentRecord {
  readonly requests = new Map<string, number>();
  /** operation → target → units. */
  readonly units = new Map<string, Map<string, CapacityUnits>>();
  failedConditionalWrites = 0;

  add(operation: string, cost: RequestCost): void {
    this.failedConditionalWrites += cost.failedConditionalWrites;
    if (cost.units.length === 0) return;
    let targets = this.units.get(operation);
    if (!targets) {
      targets = new Map();
      this.units.set(operation, targets);
    }
    for (const { target, readUnits, writeUnits } of cost.units) {
      const sum = targets.get(target) ?? { readUnits: 0, writeUnits: 0 };
      sum.readUnits += readUnits;
      sum.writeUnits += writeUnits;
      targets.set(target, sum);
    }
  }

  totals(): ComponentCapacity {
    const totals = emptyTotals();
    totals.requests = Object.fromEntries(this.requests);
    totals.failedConditionalWrites = this.failedConditionalWrites;
    for (const targets of this.units.values()) {
      for (const units of targets.values()) {
        totals.readUnits += units.readUnits;
        totals.writeUnits += units.writeUnits;
      }
    }
    return totals;
  }
}

function emptyTotals(): ComponentCapacity {
  return { readUnits: 0, writeUnits: 0, requests: {}, failedConditionalWrites: 0 };
}
