/**
 * `getRuns` filters (`sdk/src/client/run-filter.ts` `planListing`): which sharded index
 * listing a filter becomes, what is checked on the listed run items, and the validation
 * errors; and the merge of sorted shard listings (`sdk/src/store/merge-sorted.ts`).
 */
import { describe, expect, it } from "vitest";
import { planListing, type RunFilter } from "../../sdk/src/client/run-filter.js";
import type { RunStatus } from "../../sdk/src/domain/run.js";
import { listingShards } from "../../sdk/src/store/keys.js";
import { mergeSorted } from "../../sdk/src/store/merge-sorted.js";
import { rejection } from "../support/rejection.js";
import { runItem } from "./run-item-factory.js";

const rejectionOf = (filter: RunFilter) => rejection(() => planListing(filter));

const shardKeys = (prefix: string) => Array.from({ length: listingShards }, (_, i) => `${prefix}#${i}`);

describe("planListing", () => {
  describe("index choice", () => {
    it("lists the parent's shards of byParent when a parent is given, checking job and status on the runs", () => {
      // Act
      const plan = planListing({ parentRunId: "P1", jobName: "Add", status: "Failed" });
      // Assert
      expect(plan.needsJobNames).toBe(false);
      expect(plan.listing([])).toEqual({
        indexName: "byParent",
        partitionAttribute: "parentPk",
        partitionKeys: shardKeys("PARENT#P1"),
        pageSize: 100,
      });
      expect(plan.matches(runItem({ jobName: "Add", status: "Failed" }))).toBe(true);
      expect(plan.matches(runItem({ jobName: "Other", status: "Failed" }))).toBe(false);
      expect(plan.matches(runItem({ jobName: "Add", status: "Succeeded" }))).toBe(false);
    });

    it("lists the job's shards of byJob when a job but no parent is given, checking status", () => {
      const plan = planListing({ jobName: "Add", status: "Running" });
      expect(plan.needsJobNames).toBe(false);
      expect(plan.listing(["Ignored"])).toEqual({
        indexName: "byJob",
        partitionAttribute: "jobPk",
        partitionKeys: shardKeys("JOB#Add"),
        pageSize: 100,
      });
      expect(plan.matches(runItem({ status: "Running" }))).toBe(true);
      expect(plan.matches(runItem({ status: "Pending" }))).toBe(false);
    });

    it("matches every listed run when only the job is given", () => {
      const plan = planListing({ jobName: "Add" });
      expect(plan.listing([])).not.toHaveProperty("range");
      const statuses: RunStatus[] = ["Pending", "Running", "Succeeded", "Canceled", "Failed"];
      expect(statuses.every((status) => plan.matches(runItem({ status })))).toBe(true);
    });

    it("lists every shard of every job when no job or parent is given, checking status", () => {
      // Act
      const plan = planListing({ status: "Canceled" });
      const listing = plan.listing(["Add", "Import"]);
      // Assert
      expect(plan.needsJobNames).toBe(true);
      expect(listing.indexName).toBe("byJob");
      expect(listing.partitionKeys).toEqual([...shardKeys("JOB#Add"), ...shardKeys("JOB#Import")]);
      expect(plan.matches(runItem({ status: "Canceled" }))).toBe(true);
      expect(plan.matches(runItem({ status: "Failed" }))).toBe(false);
    });

    it("lists nothing when there are no jobs", () => {
      expect(planListing().listing([]).partitionKeys).toEqual([]);
    });
  });

  describe("date range", () => {
    const after = "2030-01-01T00:00:00.000Z";
    const before = "2030-02-01T00:00:00.000Z";

    const afterPlus1ms = "2030-01-01T00:00:00.001Z";

    it("bounds createdSk on both sides with BETWEEN, both bounds exclusive", () => {
      // A key is `<created ISO>#<runId>`: one created at `before` sorts after `before` itself.
      const { range } = planListing({ jobName: "Add", createdAfter: after, createdBefore: before }).listing(
        [],
      );
      expect(range).toEqual({
        expression: "createdSk BETWEEN :after AND :before",
        values: { ":after": afterPlus1ms, ":before": before },
      });
    });

    it("excludes a run created exactly at createdAfter (the bound is exclusive)", () => {
      const { range } = planListing({ status: "Failed", createdAfter: new Date(after) }).listing(["Add"]);
      expect(range).toEqual({ expression: "createdSk >= :after", values: { ":after": afterPlus1ms } });
      expect(`${after}#01ARZ3NDEKTSV4RRFFQ69G5FAV` >= afterPlus1ms).toBe(false);
      expect(`${afterPlus1ms}#01ARZ3NDEKTSV4RRFFQ69G5FAV` >= afterPlus1ms).toBe(true);
    });

    it("bounds createdSk from above with < for createdBefore only", () => {
      const { range } = planListing({ parentRunId: "P1", createdBefore: before }).listing([]);
      expect(range).toEqual({ expression: "createdSk < :before", values: { ":before": before } });
    });

    it("normalizes dates with an offset to UTC ISO strings", () => {
      const { range } = planListing({ jobName: "Add", createdAfter: "2030-01-01T02:00:00+02:00" }).listing(
        [],
      );
      expect(range?.values[":after"]).toBe(afterPlus1ms);
    });

    it("lists nothing for equal bounds (both exclusive), without a reversed BETWEEN", () => {
      const { partitionKeys } = planListing({
        jobName: "Add",
        createdAfter: after,
        createdBefore: after,
      }).listing([]);
      expect(partitionKeys).toEqual([]);
    });
  });

  describe("page size", () => {
    it.each([1, 1000])("uses a page size of %d for each shard's query", (pageSize) => {
      expect(planListing({ pageSize }).listing(["Add"]).pageSize).toBe(pageSize);
    });

    it.each([0, 1001, 2.5, Number.NaN])("rejects a page size of %d", (pageSize) => {
      expect(rejectionOf({ pageSize }).path).toBe("filter.pageSize");
    });
  });

  it("rejects an unknown status", () => {
    const error = rejectionOf({ status: "Done" as RunStatus });
    expect(error.path).toBe("filter.status");
    expect(error.message).toBe(
      'filter.status: "Done" is not one of Pending, Running, Succeeded, Canceled, Failed',
    );
  });

  it.each<[keyof RunFilter, RunFilter]>([
    ["createdAfter", { createdAfter: "yesterday" }],
    ["createdBefore", { createdBefore: new Date(Number.NaN) }],
  ])("rejects an invalid %s", (field, filter) => {
    const error = rejectionOf(filter);
    expect(error.path).toBe(`filter.${field}`);
    expect(error.message).toContain("is not a valid date");
  });
});

async function* from<T>(items: T[]): AsyncIterable<T> {
  for (const item of items) {
    await Promise.resolve();
    yield item;
  }
}

async function collect<T>(source: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of source) out.push(item);
  return out;
}

describe("mergeSorted", () => {
  const identity = (s: string) => s;

  it("merges descending sources into one descending sequence", async () => {
    // Arrange
    const sources = [from(["9", "5", "1"]), from(["8", "7", "2"]), from(["6", "4", "3"])];
    // Act
    const merged = await collect(mergeSorted(sources, identity));
    // Assert
    expect(merged).toEqual(["9", "8", "7", "6", "5", "4", "3", "2", "1"]);
  });

  it("merges ascending sources into one ascending sequence when asked to", async () => {
    const sources = [from(["1", "5", "9"]), from(["2", "7", "8"]), from(["3", "4", "6"])];
    expect(await collect(mergeSorted(sources, identity, true))).toEqual([
      "1",
      "2",
      "3",
      "4",
      "5",
      "6",
      "7",
      "8",
      "9",
    ]);
  });

  it("orders by the key, not by the items", async () => {
    const runs = (ids: string[]) => from(ids.map((id) => ({ createdSk: id })));
    const merged = await collect(mergeSorted([runs(["b", "a"]), runs(["c"])], (r) => r.createdSk));
    expect(merged.map((r) => r.createdSk)).toEqual(["c", "b", "a"]);
  });

  it("keeps every item when keys are equal", async () => {
    const merged = await collect(mergeSorted([from(["x", "x"]), from(["x"])], identity));
    expect(merged).toEqual(["x", "x", "x"]);
  });

  it("handles empty sources and no sources", async () => {
    expect(await collect(mergeSorted([from([]), from(["b", "a"]), from([])], identity))).toEqual(["b", "a"]);
    expect(await collect(mergeSorted<string>([], identity))).toEqual([]);
  });

  it("stops pulling when the consumer stops, and closes every source", async () => {
    // Arrange
    const pulled: string[] = [];
    const closed: string[] = [];
    async function* tracked(name: string, items: string[]) {
      try {
        for (const item of items) {
          pulled.push(item);
          yield item;
        }
      } finally {
        closed.push(name);
      }
    }
    // Act
    const first: string[] = [];
    for await (const item of mergeSorted(
      [tracked("a", ["9", "3", "1"]), tracked("b", ["8", "7"])],
      identity,
    )) {
      first.push(item);
      if (first.length === 2) break;
    }
    // Assert: each head was read, then the next item of the source that gave "9"; "7" and "1" never were
    expect(first).toEqual(["9", "8"]);
    expect(pulled).toEqual(["9", "8", "3"]);
    expect(closed.sort()).toEqual(["a", "b"]);
  });
});
