/**
 * N11: the construct carries the app's queue and rate-limit definitions (checked at
 * synth), and the stream dispatch function may write limit items only in their
 * partitions (`LIMIT#`: the slot handed to a woken waiter, the waiter's delete).
 */

import type { Template } from "aws-cdk-lib/assertions";
import { afterAll, describe, expect, it } from "vitest";
import { JobApp, ValidationError } from "../../sdk/src/index.js";
import { limitKeyOf, limitPkPrefix, slotKey } from "../../sdk/src/store/keys.js";
import { asList, removeSynthesized, statementsOfRole, synthJobSystem } from "./synth.js";

function tableId(template: Template): string {
  const [id] = Object.keys(template.findResources("AWS::DynamoDB::Table"));
  return id as string;
}

afterAll(removeSynthesized);

function limitedApp(): JobApp {
  const app = new JobApp();
  app.addRateLimit("smtp", { kind: "sliding", limit: 100, window: "1m" });
  app.addQueue("mail", { priority: 5, maxConcurrency: 10, rateLimit: "smtp" });
  app
    .addJob("Send", () => undefined)
    .withQueue("mail")
    .withMaxConcurrency(3);
  return app;
}

describe("N11: limits in the construct", () => {
  it("carries the app's queues and rate limits", () => {
    const { jobs } = synthJobSystem({ app: limitedApp() });
    expect(jobs.queues).toEqual([
      { name: "default", priority: 0 },
      { name: "mail", priority: 5, maxConcurrency: 10, rateLimit: "smtp" },
    ]);
    expect(jobs.rateLimits).toEqual([{ name: "smtp", kind: "sliding", limit: 100, windowMs: 60_000 }]);
  });

  it("fails synth on a queue or rate limit a job names but nobody defined", () => {
    const app = new JobApp();
    app.addJob("Send", () => undefined).withRateLimit("smtp");
    expect(() => synthJobSystem({ app })).toThrow(ValidationError);
    expect(() => synthJobSystem({ app })).toThrow('job "Send" rateLimit: rate limit "smtp" is not defined');
  });

  it("lets the stream dispatch put and delete limit items only in LIMIT# partitions", () => {
    const { template } = synthJobSystem({ app: limitedApp() });
    const table = { "Fn::GetAtt": [tableId(template), "Arn"] };
    const limitWrites = statementsOfRole(template, "JobsStreamDispatchRole").filter((s) =>
      JSON.stringify(s.Condition ?? {}).includes(`${limitPkPrefix}*`),
    );
    expect(limitWrites).toEqual([
      {
        Action: ["dynamodb:PutItem", "dynamodb:DeleteItem"],
        Effect: "Allow",
        Resource: table,
        Condition: { "ForAllValues:StringLike": { "dynamodb:LeadingKeys": ["LIMIT#*"] } },
      },
    ]);
    expect(asList(limitWrites[0]?.Action)).not.toContain("dynamodb:UpdateItem");
    // The prefix is the SDK's.
    expect(slotKey("job#Send", 0, 1).pk.startsWith(limitPkPrefix)).toBe(true);
    expect(slotKey("job#Send", 7, 3).pk.startsWith(limitPkPrefix)).toBe(true);
    expect(limitKeyOf(slotKey("job#Send", 0, 1).pk, 1)).toBe("job#Send");
  });
});
