/** `npm start`'s options (local/cli-options.ts): what each mistake is told. */
import { describe, expect, it } from "vitest";
import { parseCliOptions, UsageError } from "../../local/cli-options.js";

const parse = (args: string[], env: NodeJS.ProcessEnv = {}) => parseCliOptions(args, env);
const usageError = (args: string[], env: NodeJS.ProcessEnv = {}) => {
  try {
    parse(args, env);
  } catch (error) {
    if (error instanceof UsageError) return error;
    throw error;
  }
  throw new Error("no UsageError");
};

describe("parseCliOptions", () => {
  it("turns options into stack options", () => {
    expect(
      parse([
        "--persist",
        "--workers",
        "3",
        "--ws-port",
        "0",
        "--sqs-endpoint",
        "http://127.0.0.1:4566/",
        "--table-name",
        "t",
      ]),
    ).toEqual({
      help: false,
      dataDir: ".data/dynamodb",
      stack: {
        dataDir: ".data/dynamodb",
        workers: 3,
        webSocketPort: 0,
        sqsEndpoint: "http://127.0.0.1:4566",
        tableName: "t",
      },
    });
    expect(parse(["--help"])).toEqual({ help: true });
  });

  it.each<[string[], RegExp]>([
    [["--bogus"], /^Unknown option '--bogus'/],
    [["--workers", "two"], /^--workers: "two" is not a whole number$/],
    [["--ws-port", "70000"], /^--ws-port: "70000" is not a port \(0 to 65535\)$/],
    [
      ["--dynamodb-endpoint", "localhost:8000"],
      /^--dynamodb-endpoint: "localhost:8000" is not an http\(s\) URL$/,
    ],
    [["--sqs-endpoint", "nope"], /^--sqs-endpoint: "nope" is not a URL/],
    [["--persist", "--data-dir", "d"], /give one/],
    [
      ["--dynamodb-endpoint", "http://x", "--dynamodb-port", "8000"],
      /with --dynamodb-endpoint none is started/,
    ],
    [["extra"], /positional argument/i],
  ])("refuses %j with the usage", (args, message) => {
    const error = usageError(args);
    expect(error.message).toMatch(message);
    expect(error.message).not.toContain("\n");
    expect(error.showUsage).toBe(true);
  });

  it("refuses options npm took as its own (npm start --persist), with the command that works", () => {
    const error = usageError([], {
      npm_config_persist: "true",
      npm_config_data_dir: "/d",
      npm_config_ws_port: "true",
    });
    expect(error.message).toBe(
      "npm took --persist, --data-dir, --ws-port as its own setting (nothing reached the stack): put the options after --, as in: npm start -- --persist --data-dir /d --ws-port PORT",
    );
    expect(error.showUsage).toBe(false);
  });
});
