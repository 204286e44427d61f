/** Rules for job and queue names, which appear inside DynamoDB keys. */
import { ValidationError } from "../errors.js";

const namePattern = /^[A-Za-z0-9_.:-]{1,128}$/;

/**
 * Throws {@link ValidationError} unless `name` is 1..128 characters of letters, digits,
 * `_`, `.`, `:` or `-` (no `#`, which separates parts of table keys).
 */
export function assertName(name: unknown, path: string): asserts name is string {
  if (typeof name !== "string" || !namePattern.test(name)) {
    throw new ValidationError(
      path,
      `${JSON.stringify(name)} is not a valid name: use 1-128 of A-Z a-z 0-9 _ . : -`,
    );
  }
}
