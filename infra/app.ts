/**
 * The example CDK app (`cdk.json` runs it): one {@link ExampleStack}, in the account
 * and region of the credentials `cdk` runs with. Nothing account- or region-specific
 * is written here, so the same app deploys to any account and to LocalStack (`cdklocal`).
 */
import { App } from "aws-cdk-lib";
import { ExampleStack } from "./example-stack.js";

const app = new App();
new ExampleStack(app, "SluiceJobsExample", {
  description:
    "sluice-jobs example: durable background jobs on DynamoDB, SQS FIFO, Lambda and EventBridge Scheduler",
});
app.synth();
