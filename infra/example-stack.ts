/**
 * The example stack: the example jobs (`examples/jobs.ts`) on a {@link JobSystem},
 * with the outputs a client needs. `npm run deploy` deploys it.
 */
import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from "aws-cdk-lib";
import type { Construct } from "constructs";
import { jobSystemEnvironmentVariables } from "./environment.js";
import { JobSystem } from "./job-system.js";

export interface ExampleStackProps extends StackProps {
  /**
   * The module exporting the jobs' `app`.
   *
   * @default "examples/jobs.ts"
   */
  readonly jobsEntry?: string;
}

/** A job system running the example jobs. Everything is deleted with the stack (it is a demo). */
export class ExampleStack extends Stack {
  readonly jobs: JobSystem;

  constructor(scope: Construct, id: string, props: ExampleStackProps = {}) {
    super(scope, id, props);
    this.jobs = new JobSystem(this, "Jobs", {
      jobsEntry: props.jobsEntry ?? "examples/jobs.ts",
      workerTimeout: Duration.minutes(5),
      removalPolicy: RemovalPolicy.DESTROY,
    });

    new CfnOutput(this, "TableName", {
      description: `The job table (${jobSystemEnvironmentVariables.tableName})`,
      value: this.jobs.table.tableName,
    });
    new CfnOutput(this, "LaneUrls", {
      description: `Lane name to queue URL, JSON (${jobSystemEnvironmentVariables.laneUrls})`,
      value: this.jobs.clientEnvironment[jobSystemEnvironmentVariables.laneUrls] ?? "",
    });
    new CfnOutput(this, "ScheduleGroupName", {
      description: `The one-time schedules' group (${jobSystemEnvironmentVariables.scheduleGroupName})`,
      value: this.jobs.scheduleGroup.scheduleGroupName,
    });
    new CfnOutput(this, "SchedulerRoleArn", {
      description: `The role those schedules assume (${jobSystemEnvironmentVariables.schedulerRoleArn})`,
      value: this.jobs.schedulerRole.roleArn,
    });
    if (this.jobs.workerFunction) {
      new CfnOutput(this, "WorkerFunctionName", {
        description: "The worker function (its logs show each run)",
        value: this.jobs.workerFunction.functionName,
      });
    }
    if (this.jobs.webSocketUrl && this.jobs.webSocketTokenSecret) {
      new CfnOutput(this, "WebSocketUrl", {
        description: "The WebSocket API clients observe runs through (JobClient's webSocket.url)",
        value: this.jobs.webSocketUrl,
      });
      new CfnOutput(this, "WebSocketTokenSecretArn", {
        description:
          "The secret holding the WebSocket token (JobClient's webSocket.token): aws secretsmanager get-secret-value --secret-id <this>",
        value: this.jobs.webSocketTokenSecret.secretArn,
      });
    }
  }
}
