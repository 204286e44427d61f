/**
 * Arguments and results are JSON. Values that `JSON.stringify` would silently change or
 * cannot represent are rejected with a {@link ValidationError} naming their path, so
 * what a handler receives is exactly what the caller passed.
 */
import { ValidationError } from "../errors.js";

/**
 * Largest serialized size, in bytes of UTF-8, of a run's arguments or of its result:
 * 256 KiB. DynamoDB caps an item at 400 KB (DynamoDB developer guide, "Service, account,
 * and table quotas"); this leaves room for the run's other attributes.
 */
export const maxPayloadBytes = 256 * 1024;

/**
 * Largest serialized size of one output item of a streaming handler, in bytes: 128 KiB,
 * so one item always fits in one event item (DynamoDB caps items at 400 KB).
 */
export const maxOutputItemBytes = 128 * 1024;

/**
 * Deepest nesting of objects and arrays accepted in arguments and results: 128 levels, the
 * default limit of common JSON parsers (serde_json's, for one). Deeper values are refused
 * with a {@link ValidationError} rather than a `RangeError` from a blown stack.
 */
export const maxJsonDepth = 128;

/**
 * Checks that `value` survives a JSON round trip unchanged, and returns its
 * serialization. `limitBytes` defaults to {@link maxPayloadBytes}. Throws {@link ValidationError} with the path of the first offending
 * value (`args.when: Date is not JSON; pass an ISO string`).
 */
export function toJson(value: unknown, path: string, limitBytes = maxPayloadBytes): string {
  assertJson(value, path, new Set());
  const text = JSON.stringify(value);
  const bytes = Buffer.byteLength(text, "utf8");
  if (bytes > limitBytes) {
    throw new ValidationError(path, `is ${bytes} bytes as JSON; the limit is ${limitBytes} bytes`);
  }
  return text;
}

function assertJson(value: unknown, path: string, ancestors: Set<object>): void {
  switch (typeof value) {
    case "string":
    case "boolean":
      return;
    case "number":
      if (!Number.isFinite(value))
        throw new ValidationError(path, `${value} is not JSON; use null or a string`);
      return;
    case "bigint":
      throw new ValidationError(path, "BigInt is not JSON; pass a string or a number");
    case "function":
      throw new ValidationError(path, "a function is not JSON");
    case "symbol":
      throw new ValidationError(path, "a symbol is not JSON");
    case "undefined":
      throw new ValidationError(path, "undefined is not JSON; omit the property or pass null");
  }
  if (value === null) return;
  const obj = value as object;
  if (ancestors.has(obj))
    throw new ValidationError(path, "is a cycle (refers to itself); JSON cannot hold it");
  if (obj instanceof Date) throw new ValidationError(path, "Date is not JSON; pass an ISO string");
  if (ancestors.size >= maxJsonDepth) {
    throw new ValidationError(
      path,
      `nests deeper than ${maxJsonDepth} levels of objects and arrays; flatten it`,
    );
  }
  ancestors.add(obj);
  if (Array.isArray(obj)) {
    // A plain loop visits holes too (forEach skips them; JSON would turn them into null).
    for (let i = 0; i < obj.length; i++) assertJson(obj[i], `${path}[${i}]`, ancestors);
  } else {
    const proto = Object.getPrototypeOf(obj);
    if (proto !== Object.prototype && proto !== null) {
      const kind = (obj as { constructor?: { name?: string } }).constructor?.name ?? "object";
      throw new ValidationError(path, `${kind} is not JSON; pass a plain object, array or primitive`);
    }
    if (Object.getOwnPropertySymbols(obj).length > 0) {
      throw new ValidationError(path, "has symbol-keyed properties, which JSON drops; use string keys");
    }
    for (const [key, item] of Object.entries(obj)) {
      // A property set to undefined is dropped by JSON.stringify, which is what callers mean.
      if (item === undefined) continue;
      assertJson(item, `${path}.${key}`, ancestors);
    }
  }
  ancestors.delete(obj);
}
