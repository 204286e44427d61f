import { describe, expect, expectTypeOf, it } from "vitest";
import type { JobClient } from "../../sdk/src/client/job-client.js";
import { noRetries } from "../../sdk/src/domain/retry-policy.js";
import { JobApp } from "../../sdk/src/jobs/job-app.js";
import { defaultQueueName, type JobArgs, jobRecordOf } from "../../sdk/src/jobs/job-definition.js";
import { rejection } from "../support/rejection.js";

const noop = () => undefined;

describe("JobApp.addJob", () => {
  it.each([
    ["containing #", "Bad#Name"],
    ["empty", ""],
    ["of 129 characters", "j".repeat(129)],
    ["containing a space", "Send mail"],
    ["containing a slash", "a/b"],
  ])("rejects a name %s", (_label, name) => {
    // Arrange
    const app = new JobApp();
    // Act
    const error = rejection(() => app.addJob(name, noop));
    // Assert
    expect(error.path).toBe("job name");
    expect(error.message).toContain("is not a valid name");
    expect(app.getJob(name)).toBeUndefined();
    expect(app.jobs()).toEqual([]);
  });

  it("accepts a name of 128 allowed characters", () => {
    const name = `${"A".repeat(120)}z9_.:-xy`;
    expect(name).toHaveLength(128);
    expect(new JobApp().addJob(name, noop).name).toBe(name);
  });

  it("rejects a second registration of a name and keeps the first", () => {
    // Arrange
    const app = new JobApp();
    const first = app.addJob("Add", () => 1);
    // Act
    const error = rejection(() => app.addJob("Add", () => 2));
    // Assert
    expect(error.message).toBe('job name: "Add" is already registered');
    expect(app.getJob("Add")).toBe(first);
    expect(app.jobs()).toHaveLength(1);
  });

  it("rejects a handler that is not a function", () => {
    const error = rejection(() =>
      new JobApp().addJob("Add", { args: undefined as never }, undefined as never),
    );
    expect(error.message).toBe('job "Add" handler: must be a function');
  });

  it("lists jobs in registration order and finds them by name", () => {
    const app = new JobApp();
    const b = app.addJob("B", noop);
    const a = app.addJob("A", noop);
    expect(app.jobs()).toEqual([b, a]);
    expect(app.getJob("A")).toBe(a);
    expect(app.getJob("C")).toBeUndefined();
  });
});

describe("JobDefinition configuration", () => {
  it("starts with no retries, no timeout, priority 0 and the default queue", () => {
    const job = new JobApp().addJob("Add", noop);
    expect(job.retry).toEqual(noRetries);
    expect(job.timeoutMs).toBeUndefined();
    expect(job.priority).toBe(0);
    expect(job.queue).toBe(defaultQueueName);
  });

  it("applies valid settings and returns the same definition", () => {
    // Arrange
    const job = new JobApp().addJob("Add", noop);
    // Act
    const same = job
      .withRetry({ maxRetries: 3, backoff: "exponential", initialDelay: "1s" })
      .withTimeout("30s")
      .withPriority(-5)
      .withQueue("reports")
      .withDescription("adds")
      .withTags("math", "demo");
    // Assert
    expect(same).toBe(job);
    expect(jobRecordOf(job)).toEqual({
      name: "Add",
      description: "adds",
      tags: ["math", "demo"],
      queue: "reports",
      priority: -5,
      retry: {
        maxRetries: 3,
        backoff: "exponential",
        initialDelayMs: 1_000,
        maxDelayMs: 3_600_000,
        jitter: 0.2,
      },
      timeoutMs: 30_000,
      hasArgsSchema: false,
    });
  });

  it("rejects withRetry(-1) and keeps the previous policy", () => {
    const job = new JobApp().addJob("Add", noop).withRetry(2);
    expect(rejection(() => job.withRetry(-1)).path).toBe('job "Add" retry.maxRetries');
    expect(rejection(() => job.withRetry({ maxRetries: 1, jitter: 2 })).path).toBe('job "Add" retry.jitter');
    expect(job.retry.maxRetries).toBe(2);
  });

  it.each([0, "0s", -1])("rejects withTimeout(%j)", (timeout) => {
    const job = new JobApp().addJob("Add", noop);
    expect(rejection(() => job.withTimeout(timeout as number)).path).toBe('job "Add" timeout');
    expect(job.timeoutMs).toBeUndefined();
  });

  it.each([1.5, 1_000_001])("rejects withPriority(%d)", (priority) => {
    const job = new JobApp().addJob("Add", noop);
    expect(rejection(() => job.withPriority(priority)).path).toBe('job "Add" priority');
    expect(job.priority).toBe(0);
  });

  it("rejects a queue name containing #", () => {
    const job = new JobApp().addJob("Add", noop);
    expect(rejection(() => job.withQueue("q#1")).path).toBe('job "Add" queue');
    expect(job.queue).toBe(defaultQueueName);
  });
});

describe("job types", () => {
  it("types client.run(add, args) as Promise<number> for a handler returning a number", () => {
    // Arrange
    const app = new JobApp();
    const add = app.addJob("Add", ({ a, b }: { a: number; b: number }) => a + b);
    const asyncAdd = app.addJob("AsyncAdd", async ({ a, b }: { a: number; b: number }) => a + b);

    // These are checked by `tsc --noEmit`, never called: there is no client here.
    const typed = (client: JobClient) => {
      expectTypeOf(client.run(add, { a: 1, b: 2 })).toEqualTypeOf<Promise<number>>();
      expectTypeOf(client.run(asyncAdd, { a: 1, b: 2 })).toEqualTypeOf<Promise<number>>();
      // @ts-expect-error b is missing
      void client.run(add, { a: 1 });
      // @ts-expect-error a must be a number
      void client.run(add, { a: "1", b: 2 });
      // @ts-expect-error arguments are required for this job
      void client.run(add);
    };

    // Act + Assert
    expectTypeOf<JobArgs<typeof add>>().toEqualTypeOf<{ a: number; b: number }>();
    expect(typeof typed).toBe("function");
    expect(add.handler({ a: 1, b: 2 }, undefined as never)).toBe(3);
  });
});
