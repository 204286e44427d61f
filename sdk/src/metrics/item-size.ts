/**
 * DynamoDB item sizes, in bytes, as DynamoDB bills them.
 *
 * Rules from the AWS DynamoDB developer guide, "DynamoDB item sizes and formats"
 * (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html):
 * an item's size is the sum over its attributes of (UTF-8 bytes of the name) + (size of
 * the value), where a value is
 * - String: its UTF-8 bytes;
 * - Number: about 1 byte per two significant digits, plus 1 (see {@link numberBytes});
 * - Binary: its raw bytes (not the base64 text);
 * - Boolean or Null: 1 byte;
 * - List or Map: 3 bytes, plus per element 1 byte and the element's size (a Map element
 *   also counts its name's UTF-8 bytes);
 * - String, Number or Binary Set: the sum of its elements' sizes (the guide names no
 *   overhead for sets, and DynamoDB Local charges none).
 *
 * Every rule, including the exact number layout, was checked against what DynamoDB Local
 * bills at the 1 KB boundary (test/integration/capacity-recorder.test.ts).
 */
import type { AttributeValue } from "@aws-sdk/client-dynamodb";

/** An item (or key) as DynamoDB receives it: attribute name → marshalled value. */
export type MarshalledItem = Record<string, AttributeValue>;

/** Bytes DynamoDB bills for `item`: attribute names plus values, per the rules above. */
export function itemSizeBytes(item: MarshalledItem): number {
  let bytes = 0;
  for (const [name, value] of Object.entries(item)) bytes += utf8Bytes(name) + attributeValueBytes(value);
  return bytes;
}

/** Bytes of one value, without its attribute name. A value of unknown type counts 0. */
export function attributeValueBytes(value: AttributeValue): number {
  if (value.S !== undefined) return utf8Bytes(value.S);
  if (value.N !== undefined) return numberBytes(value.N);
  if (value.B !== undefined) return value.B.byteLength;
  if (value.BOOL !== undefined || value.NULL !== undefined) return 1;
  if (value.SS !== undefined) return sum(value.SS.map(utf8Bytes));
  if (value.NS !== undefined) return sum(value.NS.map(numberBytes));
  if (value.BS !== undefined) return sum(value.BS.map((b) => b.byteLength));
  if (value.L !== undefined) return CONTAINER_BYTES + sum(value.L.map((v) => attributeValueBytes(v) + 1));
  if (value.M !== undefined) {
    return (
      CONTAINER_BYTES +
      sum(Object.values(value.M).map((v) => attributeValueBytes(v) + 1)) +
      namesBytes(value.M)
    );
  }
  return 0;
}

/**
 * Bytes of a number given as DynamoDB's decimal string (`"-12.5"`, `"1E+3"`).
 *
 * The guide says "approximately 1 byte per two significant digits, plus 1 byte". Exactly,
 * DynamoDB stores the digits in base 100, in pairs aligned on the decimal point, with
 * leading and trailing zero pairs dropped, plus 1 byte of exponent and, for a negative
 * number, 1 more byte. So `"12"` is 2 bytes, `"1.5"` (pairs `01`, `50`) 3, `"-12.5"` 4,
 * `"1000000"` 2 and `"0"` 1.
 */
export function numberBytes(value: string): number {
  const match = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(value.trim());
  if (!match) return 1;
  const [, sign, integer = "", fraction = "", exponent = "0"] = match;
  const digits = integer + fraction;
  const first = digits.search(/[1-9]/);
  if (first < 0) return 1; // zero
  const last = digits.length - 1 - [...digits].reverse().findIndex((d) => d !== "0");
  // Power of ten of a digit at index i: integer.length - 1 - i + exponent.
  const pointShift = integer.length - 1 + Number(exponent);
  const highPair = Math.floor((pointShift - first) / 2);
  const lowPair = Math.floor((pointShift - last) / 2);
  return 1 + (highPair - lowPair + 1) + (sign === "-" ? 1 : 0);
}

/** Overhead of a List or Map value, whatever its contents. */
const CONTAINER_BYTES = 3;

function namesBytes(map: Record<string, unknown>): number {
  return sum(Object.keys(map).map(utf8Bytes));
}

function utf8Bytes(text: string): number {
  return Buffer.byteLength(text, "utf8");
}

function sum(values: readonly number[]): number {
  let total = 0;
  for (const v of values) total += v;
  return total;
}
