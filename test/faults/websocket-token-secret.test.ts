/**
 * The WebSocket function's token from Secrets Manager (`tokenAuthorizerFromEnvironment`)
 * under an injected failure: a failed fetch is not kept, a fetched secret is, and it
 * checks both connection and subscription tokens.
 */
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { mockClient } from "aws-sdk-client-mock";
import { describe, expect, it } from "vitest";
import { tokenAuthorizerFromEnvironment } from "../../sdk/src/lambda/realtime-handlers.js";
import { createSubscriptionToken } from "../../sdk/src/realtime/tokens.js";

const secretArn = "arn:aws:secretsmanager:us-east-1:111122223333:secret:jobs-ws-AbCdEf";

describe("tokenAuthorizerFromEnvironment", () => {
  it("retries a failed secret fetch on the next request, then keeps the secret", async () => {
    // Arrange
    const secrets = new SecretsManagerClient({ region: "us-east-1" });
    const mock = mockClient(secrets);
    mock
      .on(GetSecretValueCommand)
      .rejectsOnce(Object.assign(new Error("injected: throttled"), { name: "ThrottlingException" }))
      .resolves({ SecretString: "the-token" });
    const authorizer = tokenAuthorizerFromEnvironment({ JOBS_WS_TOKEN_SECRET_ARN: secretArn }, secrets);
    const nowMs = Date.now();
    // Act + Assert
    await expect(authorizer.connection("the-token")).rejects.toThrow("injected: throttled");
    expect(await authorizer.connection("the-token")).toBe(true);
    expect(await authorizer.connection("another")).toBe(false);
    expect(await authorizer.subscription(createSubscriptionToken("the-token", "R1"), "R1", nowMs)).toBe(true);
    expect(mock.commandCalls(GetSecretValueCommand).map((c) => c.args[0].input)).toEqual([
      { SecretId: secretArn },
      { SecretId: secretArn },
    ]);
  });

  it("uses JOBS_WS_TOKEN when no secret is named, and refuses everything without either", async () => {
    expect(await tokenAuthorizerFromEnvironment({ JOBS_WS_TOKEN: "plain" }).connection("plain")).toBe(true);
    expect(await tokenAuthorizerFromEnvironment({}).connection("")).toBe(false);
  });
});
