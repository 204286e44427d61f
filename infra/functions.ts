/**
 * The job system's Lambda functions, built from rows ({@link FunctionSpec}, listed in
 * `function-specs.ts`): each row names a handler factory of `sdk/src/lambda/`; at synth
 * time a small entry that calls it (with the user's `app` when it takes one) is written
 * and bundled with esbuild, locally, never in Docker. Each function gets its own role
 * and log group, and the shared environment.
 */
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { type Duration, Token } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import * as lambda from "aws-cdk-lib/aws-lambda";
import * as nodejs from "aws-cdk-lib/aws-lambda-nodejs";
import * as logs from "aws-cdk-lib/aws-logs";
import type { Construct } from "constructs";
import { ValidationError } from "../sdk/src/errors.js";
import { jobSystemEnvironmentVariables } from "./environment.js";
import { entrySource, type HandlerFactory, writeEntry } from "./handler-entries.js";
import type { ResolvedProps } from "./job-system-props.js";
import type { JobSystemParts } from "./parts.js";

/** What a row wires its function with. */
export interface FunctionWiring {
  /** The construct the functions are created in (the `JobSystem`): other resources of a row go there too. */
  readonly scope: Construct;
  readonly parts: JobSystemParts;
  readonly props: ResolvedProps;
}

/** One Lambda function of the system. */
export interface FunctionSpec {
  /** Construct id: it names the function's resources, so never change it after release. */
  readonly id: string;
  /** The `sdk/src/lambda/` export that builds the handler (from `app`, for `handlers`). */
  readonly factory: HandlerFactory;
  readonly description: string;
  readonly memorySize: (props: ResolvedProps) => number;
  readonly timeout: (props: ResolvedProps) => Duration;
  /** Lets a Lambda → SQS → same Lambda chain run on (see the worker row). */
  readonly allowRecursiveLoop?: boolean;
  /**
   * Concurrency reserved for (and the most allowed to) the function. It is taken from
   * the account's unreserved pool, which Lambda keeps at 100 or more.
   *
   * @default - none: the function shares the account's unreserved concurrency
   */
  readonly reservedConcurrency?: number;
  /**
   * The function runs' expiry schedules invoke (with `{ "expireRunId": … }`). Every
   * other function, and clients, get its ARN; it finds its own in the invocation context.
   */
  readonly expiryTarget?: boolean;
  /** Whether the props call for this function. @default always */
  readonly enabled?: (props: ResolvedProps) => boolean;
  /** Event sources, schedules and grants. */
  readonly wire: (fn: lambda.Function, wiring: FunctionWiring) => void;
}

/** The functions of the rows the props enable, by id, and the expiry target among them. */
export interface JobFunctions {
  readonly functions: Readonly<Record<string, lambda.Function>>;
  /** The function expiry schedules invoke (none if no enabled row is the expiry target). */
  readonly expiryTarget: lambda.Function | undefined;
}

/**
 * Creates the function of every enabled row in `wiring.scope`, with `environment` (the
 * client environment) on each, and wires it. Runs' expiry schedules invoke the expiry
 * target: the scheduler role may invoke it, and every other function is given its ARN
 * (the target itself is not: its environment cannot hold its own ARN, a cycle).
 */
export function createFunctions(
  specs: readonly FunctionSpec[],
  wiring: FunctionWiring,
  environment: Readonly<Record<string, string>>,
): JobFunctions {
  const { scope, parts, props } = wiring;
  const enabled = specs.filter((spec) => spec.enabled?.(props) ?? true);
  const expirySpecs = enabled.filter((spec) => spec.expiryTarget);
  if (expirySpecs.length > 1) {
    throw new ValidationError(`${scope.node.path} functions`, "more than one expiry target");
  }
  const setup = findBundlingSetup(scope);
  const functions: Record<string, lambda.Function> = {};
  for (const spec of enabled) {
    const fn = createFunction(scope, spec, props, setup, environment);
    spec.wire(fn, wiring);
    functions[spec.id] = fn;
  }

  const expiryId = expirySpecs[0]?.id;
  const expiryTarget = expiryId === undefined ? undefined : functions[expiryId];
  if (expiryTarget) {
    parts.timers.allowExpiryTarget(expiryTarget);
    for (const [id, fn] of Object.entries(functions)) {
      if (id !== expiryId) {
        fn.addEnvironment(jobSystemEnvironmentVariables.schedulerExpiryTargetArn, expiryTarget.functionArn);
      }
    }
  }
  return { functions, expiryTarget };
}

/** Where bundling runs from: the project root (the folder of the nearest lock file). */
interface BundlingSetup {
  readonly projectRoot: string;
  readonly depsLockFilePath: string;
}

const lockFileNames = ["package-lock.json", "pnpm-lock.yaml", "yarn.lock", "bun.lock", "bun.lockb"];

/**
 * Finds the project root as `NodejsFunction` does (the nearest lock file above the
 * working directory) and checks that esbuild is installed there: without it CDK would
 * fall back to bundling in Docker, which this construct never wants.
 */
function findBundlingSetup(scope: Construct): BundlingSetup {
  for (let dir = process.cwd(); ; dir = dirname(dir)) {
    const lockFile = lockFileNames.map((name) => join(dir, name)).find((file) => existsSync(file));
    if (lockFile) {
      try {
        createRequire(join(dir, "package.json")).resolve("esbuild");
      } catch (error) {
        throw new ValidationError(
          `${scope.node.path} bundling`,
          `esbuild is not installed in ${dir}: add it as a devDependency (functions are bundled locally, never in Docker)`,
          { cause: error },
        );
      }
      return { projectRoot: dir, depsLockFilePath: lockFile };
    }
    if (dirname(dir) === dir) {
      throw new ValidationError(
        `${scope.node.path} bundling`,
        `no lock file (${lockFileNames.join(", ")}) in ${process.cwd()} or above: run cdk from your project`,
      );
    }
  }
}

function createFunction(
  scope: Construct,
  spec: FunctionSpec,
  props: ResolvedProps,
  setup: BundlingSetup,
  environment: Readonly<Record<string, string>>,
): lambda.Function {
  const entry = writeEntry(
    setup.projectRoot,
    `${spec.id.toLowerCase()}.mjs`,
    entrySource(spec.factory, props.jobsEntry),
  );
  // An explicit role and log group: the role may write to this log group only (no
  // AWSLambdaBasicExecutionRole, whose statements cover every log group).
  const logGroup = new logs.LogGroup(scope, `${spec.id}Logs`, {
    retention: props.logRetention,
    removalPolicy: props.removalPolicy,
  });
  const role = new iam.Role(scope, `${spec.id}Role`, {
    assumedBy: new iam.ServicePrincipal("lambda.amazonaws.com"),
    description: `Execution role of the job system's ${spec.id} function`,
  });
  logGroup.grantWrite(role);
  return new nodejs.NodejsFunction(scope, spec.id, {
    entry,
    projectRoot: setup.projectRoot,
    depsLockFilePath: setup.depsLockFilePath,
    handler: "handler",
    description: spec.description,
    runtime: lambda.Runtime.NODEJS_22_X,
    architecture: lambda.Architecture.ARM_64,
    memorySize: spec.memorySize(props),
    timeout: spec.timeout(props),
    role,
    logGroup,
    ...(spec.allowRecursiveLoop ? { recursiveLoop: lambda.RecursiveLoop.ALLOW } : {}),
    ...(spec.reservedConcurrency === undefined
      ? {}
      : { reservedConcurrentExecutions: spec.reservedConcurrency }),
    environment: {
      ...environment,
      [jobSystemEnvironmentVariables.retentionSeconds]: props.retention.isUnresolved()
        ? Token.asString(props.retention.toSeconds())
        : String(props.retention.toSeconds()),
      NODE_OPTIONS: "--enable-source-maps",
    },
    bundling: {
      format: nodejs.OutputFormat.ESM,
      target: "node22",
      mainFields: ["module", "main"],
      // Some bundled CommonJS dependencies call require() for Node built-ins; ESM has none.
      banner:
        "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
      // Bundle the pinned AWS SDK instead of the runtime's: the tested version, every time.
      externalModules: [],
      minify: true,
      keepNames: true,
      sourceMap: true,
      // File and line in stack traces without shipping the sources (a third of the size).
      sourcesContent: false,
      forceDockerBundling: false,
      logLevel: nodejs.LogLevel.WARNING,
    },
  });
}
