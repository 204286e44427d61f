import { describe, expect, it } from "vitest";
import type { RunStatus } from "../../sdk/src/domain/run.js";
import { withIndexKeys } from "../../sdk/src/store/run-store.js";
import { createdMs, runItem } from "./run-item-factory.js";

const pad15 = (ms: number) => String(ms).padStart(15, "0");

describe("withIndexKeys", () => {
  it("indexes every run by job, status and creation time", () => {
    // Act
    const item = withIndexKeys(runItem({ runId: "R1", jobName: "Import", status: "Failed" }));
    // Assert
    expect(item.jobPk).toBe("JOB#Import");
    expect(item.statusPk).toBe("STATUS#Failed");
    expect(item.createdSk).toBe("2030-01-01T00:00:00.000Z#R1");
  });

  it("puts a Pending run in the due index at its creation time when it has no notBefore", () => {
    const item = withIndexKeys(runItem({ runId: "R1" }));
    expect(item.duePk).toBe("DUE#Pending");
    expect(item.dueSk).toBe(`${pad15(createdMs)}#R1`);
  });

  it("puts a Pending run in the due index at its notBefore", () => {
    const item = withIndexKeys(runItem({ runId: "R1", notBeforeMs: createdMs + 5_000 }));
    expect(item.duePk).toBe("DUE#Pending");
    expect(item.dueSk).toBe(`${pad15(createdMs + 5_000)}#R1`);
  });

  it("puts a Running run in the due index at its lease expiry", () => {
    const item = withIndexKeys(
      runItem({
        runId: "R1",
        status: "Running",
        attempt: 1,
        leaseExpiresMs: createdMs + 30_000,
        notBeforeMs: 1,
      }),
    );
    expect(item.duePk).toBe("DUE#Running");
    expect(item.dueSk).toBe(`${pad15(createdMs + 30_000)}#R1`);
  });

  it.each<RunStatus>(["Succeeded", "Canceled", "Failed"])(
    "leaves a %s run out of the due index, removing keys it carried",
    (status) => {
      // Arrange: keys left over from when the run was Running
      const stale = runItem({ status, duePk: "DUE#Running", dueSk: "000000000000001#R1" });
      // Act
      const item = withIndexKeys(stale);
      // Assert
      expect(item).not.toHaveProperty("duePk");
      expect(item).not.toHaveProperty("dueSk");
      expect(item.statusPk).toBe(`STATUS#${status}`);
    },
  );

  it("moves a run's status key when its status changes", () => {
    const pending = withIndexKeys(runItem());
    const running = withIndexKeys({ ...pending, status: "Running", leaseExpiresMs: createdMs + 1 });
    expect(running.statusPk).toBe("STATUS#Running");
    expect(running.duePk).toBe("DUE#Running");
  });

  it("sets parentPk only for a run with a parent", () => {
    expect(withIndexKeys(runItem({ parentRunId: "P1" })).parentPk).toBe("PARENT#P1");
    expect(withIndexKeys(runItem())).not.toHaveProperty("parentPk");
  });

  it("does not modify the item it was given", () => {
    const run = runItem({ status: "Succeeded", duePk: "DUE#Pending", dueSk: "x" });
    const before = structuredClone(run);
    withIndexKeys(run);
    expect(run).toEqual(before);
  });
});
