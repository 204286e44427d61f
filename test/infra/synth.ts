/**
 * Helpers of the infra tests: a stack with a JobSystem, synthesized with or without
 * bundling (esbuild takes about a second per function, so only the tests that read a
 * bundle pay for it), and a walk over every IAM statement of a template.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { App, Stack } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { JobSystem, type JobSystemProps } from "../../infra/job-system.js";

const outdirs = new Set<string>();

/** Deletes the cloud assemblies synthesized so far (call it in `afterAll`). */
export function removeSynthesized(): void {
  for (const dir of outdirs) rmSync(dir, { recursive: true, force: true });
  outdirs.clear();
}

/** The fixture jobs module (exports `app` with the job "FixtureJob"). */
export const fixtureJobsEntry = join(import.meta.dirname, "fixture", "jobs.ts");

export interface SynthOptions {
  /** Bundle the functions with esbuild (slow); otherwise CDK skips bundling. @default false */
  readonly bundle?: boolean;
  /** More constructs in the stack, added before synthesis. */
  readonly extend?: (stack: Stack, jobs: JobSystem) => void;
}

export interface Synthesized {
  readonly app: App;
  readonly stack: Stack;
  readonly jobs: JobSystem;
  readonly template: Template;
  /** The cloud assembly directory (bundled assets are under it). */
  readonly outdir: string;
}

/**
 * A stack `Test` with a JobSystem `Jobs` over the fixture jobs, synthesized. `props`
 * may be a function of the stack, for props that are constructs (a key).
 */
export function synthJobSystem(
  props: Partial<JobSystemProps> | ((stack: Stack) => Partial<JobSystemProps>) = {},
  options: SynthOptions = {},
): Synthesized {
  const outdir = mkdtempSync(join(tmpdir(), "jobs-infra-test-"));
  outdirs.add(outdir);
  // An empty bundling-stacks list makes CDK skip bundling (the CLI's `--exclusively`
  // mechanism). Asset metadata (as the CLI turns on) tells where each bundle went.
  const app = new App({
    outdir,
    // CDK's built-in CloudFormation schema validation takes about ten seconds a synth;
    // the CLI test in example-stack.test.ts runs it once, on the example app.
    builtinCloudFormationValidation: false,
    context: options.bundle ? { "aws:cdk:enable-asset-metadata": true } : { "aws:cdk:bundling-stacks": [] },
  });
  const stack = new Stack(app, "Test");
  const jobs = new JobSystem(stack, "Jobs", {
    jobsEntry: fixtureJobsEntry,
    ...(typeof props === "function" ? props(stack) : props),
  });
  options.extend?.(stack, jobs);
  return { app, stack, jobs, template: Template.fromStack(stack), outdir };
}

/** One IAM policy statement, with where it was found. */
export interface FoundStatement {
  readonly logicalId: string;
  readonly type: string;
  readonly statement: Record<string, unknown>;
}

/**
 * Every policy statement in a template: identity policies (`AWS::IAM::Policy`,
 * managed policies, roles' inline policies) and resource policies (queue, key and
 * bucket policies). Trust policies are returned too: they name principals, not actions
 * on resources.
 */
export function iamStatements(template: Template): FoundStatement[] {
  const found: FoundStatement[] = [];
  const add = (logicalId: string, type: string, document: unknown) => {
    const statements = (document as { Statement?: unknown } | undefined)?.Statement;
    for (const statement of Array.isArray(statements) ? statements : statements ? [statements] : []) {
      found.push({ logicalId, type, statement: statement as Record<string, unknown> });
    }
  };
  for (const [logicalId, resource] of Object.entries(template.toJSON().Resources ?? {})) {
    const { Type: type, Properties: p = {} } = resource as {
      Type: string;
      Properties?: Record<string, unknown>;
    };
    if (type === "AWS::IAM::Policy" || type === "AWS::IAM::ManagedPolicy")
      add(logicalId, type, p.PolicyDocument);
    if (type === "AWS::IAM::Role") {
      add(logicalId, `${type} trust`, p.AssumeRolePolicyDocument);
      for (const policy of (p.Policies as { PolicyDocument: unknown }[] | undefined) ?? []) {
        add(logicalId, type, policy.PolicyDocument);
      }
    }
    if (type === "AWS::SQS::QueuePolicy" || type === "AWS::S3::BucketPolicy")
      add(logicalId, type, p.PolicyDocument);
    if (type === "AWS::KMS::Key") add(logicalId, type, p.KeyPolicy);
  }
  return found;
}

/** A list of strings, from a string or a list (IAM allows both). */
export function asList(value: unknown): unknown[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

/**
 * A resource as one string, with references rendered as `${Ref:Id}` / `${GetAtt:Id.Attr}`,
 * so wildcards in an `Fn::Join` can be checked by pattern.
 */
export function renderResource(value: unknown): string {
  if (typeof value === "string") return value;
  const v = value as Record<string, unknown>;
  if ("Ref" in v) return `\${Ref:${String(v.Ref)}}`;
  if ("Fn::GetAtt" in v) return `\${GetAtt:${(v["Fn::GetAtt"] as string[]).join(".")}}`;
  if ("Fn::Join" in v) {
    const [separator, parts] = v["Fn::Join"] as [string, unknown[]];
    return parts.map(renderResource).join(separator);
  }
  return JSON.stringify(value);
}

/**
 * Statements of the identity policies attached to the one role whose logical id starts
 * with `roleIdPrefix` (`JobsWorkerRole`, `ClientRole`, …).
 */
export function statementsOfRole(template: Template, roleIdPrefix: string): Record<string, unknown>[] {
  const roleIds = Object.keys(template.findResources("AWS::IAM::Role")).filter((id) =>
    id.startsWith(roleIdPrefix),
  );
  if (roleIds.length !== 1) {
    throw new Error(`expected one role ${roleIdPrefix}…, found ${roleIds.length}: ${roleIds.join(", ")}`);
  }
  const policies = template.findResources("AWS::IAM::Policy") as Record<
    string,
    { Properties: { Roles: unknown[] } }
  >;
  return iamStatements(template)
    .filter(
      ({ type, logicalId }) =>
        type === "AWS::IAM::Policy" &&
        JSON.stringify(policies[logicalId]?.Properties.Roles).includes(`"${roleIds[0]}"`),
    )
    .map(({ statement }) => statement);
}
