/**
 * Checking a job's arguments against its Standard Schema (`withSchema`), the same way
 * at trigger time (the client) and at claim time (the worker), with every issue named by
 * its field path (`args.user.email: Invalid email`).
 */
import type { StandardSchemaV1 } from "@standard-schema/spec";

/** The outcome of {@link validateArgs}: the schema's output value, or every issue described. */
export type ArgsCheck =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly detail: string };

/** Validates `args` with `schema`; issues are joined with "; ", each prefixed by its path under `args`. */
export async function validateArgs(schema: StandardSchemaV1, args: unknown): Promise<ArgsCheck> {
  const result = await schema["~standard"].validate(args);
  if (!result.issues) return { ok: true, value: result.value };
  const detail = result.issues
    .map((issue) => {
      const path = (issue.path ?? [])
        .map((p) => (typeof p === "object" ? String(p.key) : String(p)))
        .join(".");
      return `${path ? `args.${path}` : "args"}: ${issue.message}`;
    })
    .join("; ");
  return { ok: false, detail };
}
