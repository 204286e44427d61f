import { describe, expect, it } from "vitest";
import { registerJobs } from "../../sdk/src/connect.js";
import type { Duration } from "../../sdk/src/domain/duration.js";
import { ValidationError } from "../../sdk/src/errors.js";
import { JobApp } from "../../sdk/src/jobs/job-app.js";
import { jobRecordOf } from "../../sdk/src/jobs/job-definition.js";
import { defaultLanes, laneForPriority, lanePriority } from "../../sdk/src/queue/lane-definitions.js";
import type { RunStore } from "../../sdk/src/store/run-store.js";
import { rejection } from "../support/rejection.js";

const noop = () => undefined;

describe("N6: limits are checked when the app is defined", () => {
  it.each([0, -1, 1.5, Number.NaN, "3", 1001])("refuses a job maxConcurrency of %s", (n) => {
    const error = rejection(() => new JobApp().addJob("J", noop).withMaxConcurrency(n as number));
    expect(error.path).toBe('job "J" maxConcurrency');
    expect(error.message).toContain("is not an integer in 1..1000");
  });

  it.each([0, -2, 2.5])("refuses a queue maxConcurrency of %s", (n) => {
    const error = rejection(() => new JobApp().addQueue("q", { maxConcurrency: n }));
    expect(error.path).toBe('queue "q".maxConcurrency');
  });

  it.each([0, -1, 0.5])("refuses a key limit of %s", (n) => {
    const error = rejection(() =>
      new JobApp().addJob("J", noop).withConcurrencyKey(() => "k", { maxConcurrency: n }),
    );
    expect(error.path).toBe('job "J" concurrencyKey.maxConcurrency');
  });

  it.each([0, -10, 2.5])("refuses a rate limit of %s per window", (limit) => {
    const error = rejection(() => new JobApp().addRateLimit("r", { kind: "fixed", limit, window: "2s" }));
    expect(error.path).toBe('rate limit "r".limit');
  });

  it.each([0, "0s", "500ms", -1])("refuses a window of %s", (window) => {
    const error = rejection(() =>
      new JobApp().addRateLimit("r", { kind: "sliding", limit: 10, window: window as Duration }),
    );
    expect(error.path).toBe('rate limit "r".window');
  });

  it("refuses an unknown kind and a misspelled option, naming the closest", () => {
    expect(
      rejection(() => new JobApp().addRateLimit("r", { kind: "leaky" as "fixed", limit: 1, window: "1s" }))
        .path,
    ).toBe('rate limit "r".kind');
    const misspelled = rejection(() =>
      new JobApp().addQueue("q", { maxConcurency: 2 } as unknown as { maxConcurrency: number }),
    );
    expect(misspelled.path).toBe('queue "q".maxConcurency');
    expect(misspelled.message).toContain('did you mean "maxConcurrency"');
    const keyOption = rejection(() =>
      new JobApp()
        .addJob("J", (a: { t: string }) => a.t)
        .withConcurrencyKey((a) => a.t, { maxConcurrency: 1, maxConcurency: 2 } as {
          maxConcurrency: number;
        }),
    );
    expect(keyOption.path).toBe('job "J" concurrencyKey.maxConcurency');
    expect(keyOption.message).toContain('did you mean "maxConcurrency"');
    const jobOption = rejection(() =>
      new JobApp().addJob("J", { arg: {} } as unknown as { args: never }, () => undefined),
    );
    expect(jobOption.path).toBe('job "J" options.arg');
  });

  it("refuses a window over a day", () => {
    for (const [window, problem] of [
      ["400d", "over 1 day"],
      [1e15, "over 1 day"],
    ] as const) {
      const error = rejection(() => new JobApp().addRateLimit("r", { kind: "fixed", limit: 1, window }));
      expect(error.path).toBe('rate limit "r".window');
      expect(error.message).toContain(problem);
    }
    expect(new JobApp().addRateLimit("r", { kind: "fixed", limit: 1, window: "1d" }).windowMs).toBe(
      86_400_000,
    );
  });

  it("refuses a queue or rate limit defined twice", () => {
    const app = new JobApp();
    app.addQueue("q");
    app.addRateLimit("r", { kind: "fixed", limit: 1, window: "1s" });
    expect(rejection(() => app.addQueue("q")).message).toContain("already defined");
    expect(
      rejection(() => app.addRateLimit("r", { kind: "fixed", limit: 1, window: "1s" })).message,
    ).toContain("already defined");
  });

  it("refuses, at registration, a queue or rate limit a job or queue names but nobody defined", async () => {
    const unknownQueue = new JobApp();
    unknownQueue.addJob("J", noop).withQueue("mail");
    expect(rejection(() => unknownQueue.validate()).path).toBe('job "J" queue');
    const unknownRate = new JobApp();
    unknownRate.addRateLimit("smtp", { kind: "fixed", limit: 1, window: "1s" });
    unknownRate.addJob("J", noop).withRateLimit("smtpp");
    const error = rejection(() => unknownRate.validate());
    expect(error.path).toBe('job "J" rateLimit');
    expect(error.message).toContain('rate limit "smtpp" is not defined (defined: smtp)');
    const queueRate = new JobApp();
    queueRate.addQueue("q", { rateLimit: "nope" });
    expect(rejection(() => queueRate.validate()).path).toBe('queue "q".rateLimit');
    // registerJobs checks before it writes anything
    const store = { putJob: () => Promise.reject(new Error("must not write")) } as unknown as RunStore;
    await expect(registerJobs({ store }, unknownQueue)).rejects.toBeInstanceOf(ValidationError);
  });

  it("accepts a complete app: default queue implicit, limits recorded", () => {
    const app = new JobApp();
    app.addRateLimit("smtp", { kind: "sliding", limit: 100, window: "1m" });
    app.addQueue("mail", { priority: 5, maxConcurrency: 10, rateLimit: "smtp" });
    const job = app
      .addJob("Send", (_: { tenant: string }) => undefined)
      .withQueue("mail")
      .withMaxConcurrency(3)
      .withConcurrencyKey((a) => a.tenant, { maxConcurrency: 2 })
      .withRateLimit("smtp");
    app.addJob("Plain", noop);
    expect(() => app.validate()).not.toThrow();
    expect(app.getRateLimit("smtp")).toEqual({ name: "smtp", kind: "sliding", limit: 100, windowMs: 60_000 });
    expect(app.queues().map((q) => q.name)).toEqual(["default", "mail"]);
    expect(job.maxConcurrency).toBe(3);
    expect(job.concurrencyKey?.maxConcurrency).toBe(2);
    expect(app.hasLimits).toBe(true);
  });
});

describe("lane bands for runs waiting only on worker capacity", () => {
  it("are picked by the queue's priority when it is not 0, else by the run's", () => {
    const band = (queuePriority: number | undefined, priority: number) =>
      laneForPriority(
        defaultLanes,
        lanePriority({ priority, ...(queuePriority !== undefined ? { queuePriority } : {}) }),
      ).name;
    expect(band(undefined, 10)).toBe("high");
    expect(band(0, -5)).toBe("low");
    expect(band(10, -5)).toBe("high");
    expect(band(-1, 10)).toBe("low");
  });

  it("carry the queue's priority in the job record (clients without the app pick the same band)", () => {
    const app = new JobApp();
    app.addQueue("urgent", { priority: 10 });
    const job = app.addJob("Page", noop).withQueue("urgent");
    expect(jobRecordOf(job, app.getQueue(job.queue)?.priority).queuePriority).toBe(10);
    expect(jobRecordOf(app.addJob("Plain", noop)).queuePriority).toBeUndefined();
  });
});
