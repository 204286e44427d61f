/**
 * A store outage in the middle of an attempt (the local stack's DynamoDB Local killed
 * and restarted, a network partition): a write whose answer is lost may have been
 * applied. The worker must neither forget a claim that committed nor throw away the
 * outcome of a finished handler while the store is away.
 */
import { afterEach, describe, expect, it } from "vitest";
import { JobApp } from "../../sdk/src/index.js";
import { addMiddleware } from "../../sdk/src/metrics/sdk-middleware.js";
import { createTestResources, type TestResources } from "../support/local-resources.js";
import { startTestSystem, type TestSystem } from "../support/test-system.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let system: TestSystem | undefined;
afterEach(async () => {
  await system?.stop();
  system = undefined;
});

/** What the SDK throws when nothing listens on the endpoint (the request never left). */
const refused = () =>
  Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:43677"), {
    code: "ECONNREFUSED",
    errno: -111,
    syscall: "connect",
  });
/** What it throws when the server went away after it took the request (applied or not: unknown). */
const hungUp = () => Object.assign(new Error("socket hang up"), { code: "ECONNRESET" });

/**
 * Every DynamoDB request of `resources` fails (above the SDK's retries) while the outage
 * lasts; `onRequest` may start one, and decides whether the request that started it reached the store.
 */
function injectOutage(
  resources: TestResources,
  onRequest: (operation: string, input: Record<string, unknown>) => "apply-then-fail" | undefined,
) {
  const outage = { until: 0, refused: 0 };
  addMiddleware(resources.dynamodb, "initialize", "injectOutage", (next, operation) => async (args) => {
    if (Date.now() < outage.until) {
      outage.refused++;
      throw refused();
    }
    if (onRequest(operation, args.input) === "apply-then-fail") {
      await next(args);
      throw hungUp();
    }
    return next(args);
  });
  return outage;
}

/** Waits for the run to end, reading through the outage (the test's client shares the store). */
async function ended(runId: string) {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const run = await system?.client.getRun(runId).catch(() => undefined);
    if (run && ["Succeeded", "Failed", "Canceled"].includes(run.status)) return run;
    await sleep(100);
  }
  throw new Error(`run ${runId} did not end within 20 s`);
}

const isClaim = (operation: string, input: Record<string, unknown>) =>
  operation === "UpdateItem" && String(input.ConditionExpression).startsWith("#status = :pending");

describe("store outage", () => {
  it("S1: a claim that committed but whose answer was lost to an outage is run by its worker once the store is back", async () => {
    // Arrange: the first claim reaches the store, then the store goes away for 2 s
    // (its answer is lost: the worker sees a hung-up connection, then refused ones).
    const resources = await createTestResources();
    let armed = true;
    const outage = injectOutage(resources, (operation, input) => {
      if (!armed || !isClaim(operation, input)) return undefined;
      armed = false;
      outage.until = Date.now() + 2_000;
      return "apply-then-fail";
    });
    let executions = 0;
    const app = new JobApp();
    const quick = app.addJob("Quick", async (n: number) => {
      executions++;
      return n * 2;
    });
    const errors: unknown[] = [];
    system = await startTestSystem({ app, resources, worker: { onError: (e) => errors.push(e) } });
    // Act
    const run = await system.client.trigger(quick, 21);
    const done = await ended(run.runId);
    // Assert: not recovered as a lost lease (the tester's LeaseExpiredError), run once
    expect(armed).toBe(false);
    expect(outage.refused).toBeGreaterThan(0);
    expect(done.error).toBeUndefined();
    expect(done.status).toBe("Succeeded");
    expect(done.result).toBe(42);
    expect(done.attempt).toBe(1);
    expect(executions).toBe(1);
  });

  it("S2: the outcome of a finished handler is recorded when the store comes back after more than a lease", async () => {
    // Arrange: the handler finishes, then the store is away for 5 s (the lease is 3 s).
    const resources = await createTestResources();
    const outage = injectOutage(resources, () => undefined);
    let executions = 0;
    const app = new JobApp();
    const quick = app.addJob("Quick", async (n: number, ctx) => {
      executions++;
      ctx.logger.info("computed"); // written with the outcome: its event write fails first
      outage.until = Date.now() + 5_000;
      return n * 2;
    });
    const errors: unknown[] = [];
    system = await startTestSystem({ app, resources, worker: { onError: (e) => errors.push(e) } });
    // Act
    const run = await system.client.trigger(quick, 21);
    const done = await ended(run.runId);
    // Assert
    expect(outage.refused).toBeGreaterThan(0);
    expect(done.error).toBeUndefined();
    expect(done.status).toBe("Succeeded");
    expect(done.result).toBe(42);
    expect(done.attempt).toBe(1);
    expect(executions).toBe(1);
    const lines: string[] = [];
    for await (const e of system.store.events(run.runId))
      if (e.type === "log") lines.push(...e.lines.map((l) => l.message));
    expect(lines).toEqual(["computed"]);
  });
});
