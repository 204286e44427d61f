// Values the global setup (test/support/global-setup.ts) provides to every test file via `inject()`.
import "vitest";

declare module "vitest" {
  export interface ProvidedContext {
    /** DynamoDB Local, `http://127.0.0.1:<port>`. */
    dynamoEndpoint: string;
    /** fauxqs (SQS), `http://127.0.0.1:<port>`. */
    sqsEndpoint: string;
  }
}
