import { ScanCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { JobApp, JobNotFoundError, maxPayloadBytes, ValidationError } from "../../sdk/src/index.js";
import { startTestSystem, type TestSystem } from "../support/test-system.js";

let system: TestSystem;
const app = new JobApp();
const echo = app.addJob("Echo", (args: unknown) => args);
const add = app.addJob("Add", { args: z.object({ a: z.number(), b: z.number() }) }, ({ a, b }) => a + b);

beforeAll(async () => {
  system = await startTestSystem({ app, workers: 0, timer: false });
});
afterAll(async () => {
  await system.stop();
});

async function itemCount(): Promise<number> {
  const out = await system.store.doc.send(
    new ScanCommand({
      TableName: system.store.tableName,
      FilterExpression: "attribute_not_exists(#n)",
      ExpressionAttributeNames: { "#n": "name" },
    }),
  );
  return out.Count ?? 0;
}

const cycle: Record<string, unknown> = { a: 1 };
cycle.self = cycle;
const deeplyNested = (depth: number) => {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = { a: value };
  return value;
};
const inOneHour = () => new Date(Date.now() + 3600_000);

const cases: [string, () => Promise<unknown>, RegExp, new (...args: never[]) => Error][] = [
  [
    "an unknown job",
    () => system.client.trigger("NoSuchJob"),
    /"NoSuchJob" is not registered/,
    JobNotFoundError,
  ],
  [
    "a BigInt argument",
    () => system.client.trigger(echo, { n: 10n }),
    /args\.n: BigInt is not JSON/,
    ValidationError,
  ],
  [
    "a function argument",
    () => system.client.trigger(echo, { f: () => 1 }),
    /args\.f: a function is not JSON/,
    ValidationError,
  ],
  ["a cyclic argument", () => system.client.trigger(echo, cycle), /args\.self: is a cycle/, ValidationError],
  [
    "an argument nested 100,000 levels deep",
    () => system.client.trigger(echo, deeplyNested(100_000)),
    /nests deeper than 128 levels of objects and arrays; flatten it/,
    ValidationError,
  ],
  [
    "a Date argument",
    () => system.client.trigger(echo, { when: new Date() }),
    /args\.when: Date is not JSON; pass an ISO string/,
    ValidationError,
  ],
  [
    "arguments over the size limit",
    () => system.client.trigger(echo, { blob: "x".repeat(maxPayloadBytes) }),
    /args: is \d+ bytes as JSON; the limit is 262144 bytes/,
    ValidationError,
  ],
  [
    "notAfter before notBefore",
    () => system.client.trigger(echo, 1, { notBefore: inOneHour(), notAfter: new Date(Date.now() + 60_000) }),
    /options\.notAfter: .* is before notBefore/,
    ValidationError,
  ],
  [
    "notAfter in the past",
    () => system.client.trigger(echo, 1, { notAfter: new Date(Date.now() - 1000) }),
    /already past/,
    ValidationError,
  ],
  [
    "a non-integer priority",
    () => system.client.trigger(echo, 1, { priority: 1.5 }),
    /options\.priority: 1\.5 is not an integer/,
    ValidationError,
  ],
  [
    "an empty deduplication id",
    () => system.client.trigger(echo, 1, { deduplicationId: "" }),
    /options\.deduplicationId: must be a non-empty string/,
    ValidationError,
  ],
  [
    "an oversized deduplication id",
    () => system.client.trigger(echo, 1, { deduplicationId: "d".repeat(257) }),
    /is 257 characters; the limit is 256/,
    ValidationError,
  ],
  [
    "an invalid date",
    () => system.client.trigger(echo, 1, { notBefore: "tomorrow-ish" }),
    /options\.notBefore: "tomorrow-ish" has no time zone/,
    ValidationError,
  ],
  [
    "arguments failing the job's schema",
    () => system.client.trigger(add, { a: 1, b: "2" } as never),
    /args\.b: /,
    ValidationError,
  ],
];

describe("bad input", () => {
  it.each(cases)("rejects %s with a typed error and writes nothing", async (_name, call, message, type) => {
    // Arrange
    const before = await itemCount();
    // Act
    const error = await call().catch((e: unknown) => e);
    // Assert
    expect(error).toBeInstanceOf(type);
    expect((error as Error).message).toMatch(message);
    expect(await itemCount()).toBe(before);
  });
});
