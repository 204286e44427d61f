/** Configuration for AWS SDK clients talking to a local emulator. */

export interface LocalClientConfig {
  endpoint: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
}

/**
 * Client config for a local emulator at `endpoint` (always `http://127.0.0.1:<port>`):
 * fixed region and dummy credentials. Spread it into a client constructor:
 * `new DynamoDBClient(localClientConfig(endpoint))`.
 */
export function localClientConfig(endpoint: string): LocalClientConfig {
  return {
    endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
  };
}
