/**
 * `npm start` from the outside (issue 12): SIGTERM to npm's pid stops the whole tree
 * within the shutdown grace + 5 s and frees the ports (P3); already-running emulators are
 * used instead of new ones, and the demo's jobs run there (P4); mistakes get one line with
 * the fix and a non-zero exit (P5).
 */
import { createServer, type Server } from "node:net";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SQSClient } from "@aws-sdk/client-sqs";
import { afterEach, describe, expect, it } from "vitest";
import { add, addRandom, app, streamOrders } from "../../examples/jobs.js";
import { localClientConfig } from "../../local/aws-clients.js";
import { type DynamoDbLocal, startDynamoDbLocal } from "../../local/dynamodb-local.js";
import { isProcessAlive } from "../../local/process-alive.js";
import { type SqsLocal, startSqsLocal } from "../../local/sqs-local.js";
import { connect } from "../../sdk/src/connect.js";
import { descendants, type NpmStart, npmStart, waitForBanner } from "../support/npm-start.js";

/** The workers' shutdown grace (local/stack.ts). */
const shutdownGraceMs = 5_000;

const portOf = (url: string | undefined) => Number(new URL(url ?? "").port);

function listenOn(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve(server));
  });
}

async function isFree(port: number): Promise<boolean> {
  try {
    const server = await listenOn(port);
    await new Promise((r) => server.close(r));
    return true;
  } catch {
    return false;
  }
}

const running: NpmStart[] = [];
afterEach(() => {
  for (const start of running.splice(0)) start.child.kill("SIGKILL");
});

describe("npm start", () => {
  it.each(["SIGTERM", "SIGINT"] as const)(
    "stops every process of its tree within the grace + 5 s of a %s to npm, and frees its ports (P3)",
    async (signal) => {
      const start = npmStart(["start"]);
      running.push(start);
      const env = await waitForBanner(start);
      const tree = descendants(start.child.pid as number);
      expect(tree.some((p) => /DynamoDBLocal\.jar/.test(p.command))).toBe(true);
      const ports = [
        portOf(env.AWS_ENDPOINT_URL_DYNAMODB),
        portOf(env.AWS_ENDPOINT_URL_SQS),
        portOf(start.output().match(/WebSocket API\s+(ws:\/\/\S+)\s/)?.[1]),
      ];

      start.child.kill(signal);
      const deadline = Date.now() + shutdownGraceMs + 5_000;
      while (tree.some((p) => isProcessAlive(p.pid)) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
      }

      expect(tree.filter((p) => isProcessAlive(p.pid))).toEqual([]);
      expect(await start.exited).not.toBe("unknown");
      for (const port of ports) expect(await isFree(port)).toBe(true);
      expect(start.output()).toContain("stopped");
    },
    120_000,
  );

  describe("with --dynamodb-endpoint and --sqs-endpoint (P4)", () => {
    let dynamo: DynamoDbLocal | undefined;
    let sqsLocal: SqsLocal | undefined;
    afterEach(async () => {
      await Promise.all([dynamo?.stop(), sqsLocal?.stop()]);
    });

    it("uses the emulators already running there, creating the table and lanes, and runs the demo's jobs", async () => {
      [dynamo, sqsLocal] = await Promise.all([startDynamoDbLocal(), startSqsLocal()]);
      const start = npmStart([
        "start",
        "--",
        "--dynamodb-endpoint",
        dynamo.endpoint,
        "--sqs-endpoint",
        sqsLocal.endpoint,
        "--workers",
        "1",
      ]);
      running.push(start);
      const env = await waitForBanner(start);
      expect(env.AWS_ENDPOINT_URL_DYNAMODB).toBe(dynamo.endpoint);
      expect(env.AWS_ENDPOINT_URL_SQS).toBe(sqsLocal.endpoint);
      expect(descendants(start.child.pid as number).filter((p) => /java/.test(p.command))).toEqual([]);

      const dynamodb = new DynamoDBClient(localClientConfig(dynamo.endpoint));
      const sqs = new SQSClient(localClientConfig(sqsLocal.endpoint));
      const { client } = connect({
        dynamodb,
        sqs,
        app,
        tableName: env.JOBS_TABLE_NAME ?? "",
        laneUrls: JSON.parse(env.JOBS_LANE_URLS ?? "{}"),
      });
      expect(await client.run(add, { a: 1, b: 2 })).toBe(3);
      const random = await client.run(addRandom, undefined);
      expect(random.sum).toBe(random.a + random.b);
      const orders: unknown[] = [];
      for await (const order of client.stream(streamOrders, { count: 3 })) orders.push(order.id);
      expect(orders).toEqual([1, 2, 3]);
      dynamodb.destroy();
      sqs.destroy();

      start.child.kill("SIGTERM");
      expect(await start.exited).toBe(0);
    }, 120_000);
  });

  describe("mistakes get one line with the fix (P5)", () => {
    it("an unknown option: the error, the usage, exit 2", async () => {
      const start = npmStart(["start", "--", "--bogus"]);
      expect(await start.exited).toBe(2);
      expect(start.output()).toMatch(
        /^npm start: Unknown option '--bogus'.*\nusage: npm start -- \[options\]/m,
      );
      expect(start.output()).not.toMatch(/TypeError|\n\s+at .+:\d+:\d+/); // no stack trace
    }, 60_000);

    it("npm's own --persist (no --): refused with the command that works, exit 2", async () => {
      const start = npmStart(["start", "--persist"]);
      expect(await start.exited).toBe(2);
      expect(start.output()).toMatch(
        /^npm start: npm took --persist as its own setting .*: npm start -- --persist$/m,
      );
    }, 60_000);

    it("a taken --ws-port: names the port and the option, exit 1, nothing left running", async () => {
      const server = await listenOn(0);
      const port = (server.address() as { port: number }).port;
      try {
        const start = npmStart(["start", "--", "--ws-port", String(port)]);
        running.push(start);
        let tree: { pid: number }[] = [];
        const watch = setInterval(() => {
          if (start.child.pid) tree = [...tree, ...descendants(start.child.pid)];
        }, 200);
        const code = await start.exited;
        clearInterval(watch);
        expect(code).toBe(1);
        expect(start.output()).toMatch(
          new RegExp(
            `^npm start: port ${port} is already in use on 127\\.0\\.0\\.1 \\(wanted for WebSocket server\\): pass --ws-port with another port \\(0 for a free one\\)$`,
            "m",
          ),
        );
        await new Promise((r) => setTimeout(r, 500));
        expect(tree.filter((p) => isProcessAlive(p.pid))).toEqual([]);
      } finally {
        server.close();
      }
    }, 120_000);
  });
});
