/**
 * Duplicate AWS SDK cores in an npm tree. Every AWS SDK v3 client is built on
 * `@aws-sdk/core` and the `@smithy/*` packages; two versions of one of them in a tree
 * mean two copies of the classes the clients share (errors compared with `instanceof`,
 * middleware, credential providers), which breaks in ways that are hard to trace.
 */

/** The shared packages: `@aws-sdk/core` and every `@smithy/*` package. */
export const sdkCorePackage = /^(@aws-sdk\/core|@smithy\/[^/]+)$/;

/** The part of an npm lockfile (`lockfileVersion` 2 or 3) read here. */
export interface Lockfile {
  readonly packages?: Readonly<Record<string, { readonly version?: string; readonly link?: boolean }>>;
}

/**
 * The shared packages that appear in more than one version in `lock`, by name, each
 * with its versions (sorted). Empty when every one has a single version.
 *
 * @throws Error when `lock` has no `packages` map (lockfile version 1, or not a lockfile).
 */
export function sdkCoreDuplicates(lock: Lockfile): Map<string, string[]> {
  if (!lock.packages) throw new Error("not an npm lockfile of version 2 or 3 (no `packages`)");
  const versions = new Map<string, Set<string>>();
  for (const [path, entry] of Object.entries(lock.packages)) {
    const at = path.lastIndexOf("node_modules/");
    if (at < 0 || entry.link || !entry.version) continue;
    const name = path.slice(at + "node_modules/".length);
    if (!sdkCorePackage.test(name)) continue;
    versions.set(name, (versions.get(name) ?? new Set()).add(entry.version));
  }
  return new Map(
    [...versions]
      .filter(([, found]) => found.size > 1)
      .map(([name, found]) => [name, [...found].sort()] as const)
      .sort(([a], [b]) => a.localeCompare(b)),
  );
}
