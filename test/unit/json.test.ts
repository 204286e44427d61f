import { describe, expect, it } from "vitest";
import { maxJsonDepth, maxPayloadBytes, toJson } from "../../sdk/src/domain/json.js";
import { ValidationError } from "../../sdk/src/errors.js";

/** Calls `fn`, expects it to throw, and returns what it threw. */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error("expected a throw, but the call returned");
}

describe("toJson", () => {
  describe("rejects values JSON cannot hold, naming the path", () => {
    it("rejects a Date and tells the caller to pass an ISO string", () => {
      // Act
      const error = thrown(() => toJson({ when: new Date(0) }, "args"));
      // Assert
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).message).toBe("args.when: Date is not JSON; pass an ISO string");
      expect((error as ValidationError).path).toBe("args.when");
    });

    it("rejects a BigInt", () => {
      expect(() => toJson({ n: 10n }, "args")).toThrow(
        new ValidationError("args.n", "BigInt is not JSON; pass a string or a number"),
      );
    });

    it("rejects a function", () => {
      expect(() => toJson({ cb: () => 1 }, "args")).toThrow("args.cb: a function is not JSON");
    });

    it("rejects a symbol", () => {
      expect(() => toJson({ tag: Symbol("x") }, "args")).toThrow("args.tag: a symbol is not JSON");
    });

    it("rejects a cycle at the property that closes it", () => {
      // Arrange
      const node: Record<string, unknown> = { name: "a" };
      node.self = node;
      // Act
      const error = thrown(() => toJson(node, "args")) as ValidationError;
      // Assert
      expect(error).toBeInstanceOf(ValidationError);
      expect(error.path).toBe("args.self");
      expect(error.message).toContain("cycle");
    });

    it("rejects a cycle through an array", () => {
      const list: unknown[] = [1];
      list.push({ back: list });
      const error = thrown(() => toJson(list, "result")) as ValidationError;
      expect(error.path).toBe("result[1].back");
    });

    it.each([
      ["NaN", Number.NaN],
      ["Infinity", Number.POSITIVE_INFINITY],
      ["-Infinity", Number.NEGATIVE_INFINITY],
    ])("rejects %s", (label, value) => {
      expect(() => toJson({ x: value }, "args")).toThrow(
        `args.x: ${label} is not JSON; use null or a string`,
      );
    });

    it.each([
      ["Map", new Map([["a", 1]])],
      ["Set", new Set([1])],
      [
        "Point",
        new (class Point {
          x = 1;
        })(),
      ],
      ["String", new String("boxed")],
    ])("rejects a %s instance by its class name", (kind, value) => {
      const error = thrown(() => toJson({ deep: [value] }, "args")) as ValidationError;
      expect(error).toBeInstanceOf(ValidationError);
      expect(error.path).toBe("args.deep[0]");
      expect(error.message).toBe(
        `args.deep[0]: ${kind} is not JSON; pass a plain object, array or primitive`,
      );
    });

    it("rejects undefined inside an array, where JSON would turn it into null", () => {
      expect(() => toJson({ list: [1, undefined, 3] }, "args")).toThrow(
        "args.list[1]: undefined is not JSON; omit the property or pass null",
      );
    });

    it("rejects undefined as the whole value", () => {
      expect(() => toJson(undefined, "result")).toThrow(ValidationError);
    });

    it("refuses nesting deeper than maxJsonDepth with a ValidationError, even far deeper than the stack allows", () => {
      const nested = (depth: number) => {
        let value: unknown = 1;
        for (let i = 0; i < depth; i++) value = i % 2 ? { a: value } : [value];
        return value;
      };
      expect(toJson(nested(maxJsonDepth), "args")).toBe(JSON.stringify(nested(maxJsonDepth)));
      for (const depth of [maxJsonDepth + 1, 100_000]) {
        const error = thrown(() => toJson(nested(depth), "args"));
        expect(error).toBeInstanceOf(ValidationError);
        expect((error as ValidationError).message).toMatch(
          /nests deeper than 128 levels of objects and arrays; flatten it$/,
        );
      }
    });

    it("reports the first offending value in property order", () => {
      const error = thrown(() =>
        toJson({ ok: 1, first: new Date(0), second: 1n }, "args"),
      ) as ValidationError;
      expect(error.path).toBe("args.first");
    });
  });

  describe("accepts JSON values", () => {
    it("serializes nested plain objects, arrays and null unchanged", () => {
      // Arrange
      const value = { a: 1, b: [true, null, "x", { c: [[-2.5]] }], d: { e: { f: null } }, g: "" };
      // Act
      const text = toJson(value, "args");
      // Assert
      expect(text).toBe(JSON.stringify(value));
      expect(JSON.parse(text)).toEqual(value);
    });

    it("accepts top-level primitives and null", () => {
      expect(toJson(null, "result")).toBe("null");
      expect(toJson(0, "result")).toBe("0");
      expect(toJson("hi", "result")).toBe('"hi"');
      expect(toJson(false, "result")).toBe("false");
    });

    it("drops a property set to undefined, as JSON.stringify does", () => {
      expect(toJson({ a: 1, b: undefined }, "args")).toBe('{"a":1}');
    });

    it("accepts an object without a prototype", () => {
      const bare = Object.assign(Object.create(null) as Record<string, unknown>, { k: "v" });
      expect(toJson(bare, "args")).toBe('{"k":"v"}');
    });

    it("accepts the same object referenced twice without a cycle", () => {
      const shared = { id: 7 };
      expect(toJson({ left: shared, right: [shared] }, "args")).toBe('{"left":{"id":7},"right":[{"id":7}]}');
    });
  });

  describe("size limit", () => {
    it("is 256 KiB", () => {
      expect(maxPayloadBytes).toBe(262_144);
    });

    it("accepts a payload of exactly maxPayloadBytes", () => {
      // Arrange: a JSON string is its characters plus two quotes
      const value = "a".repeat(maxPayloadBytes - 2);
      // Act
      const text = toJson(value, "args");
      // Assert
      expect(Buffer.byteLength(text, "utf8")).toBe(maxPayloadBytes);
    });

    it("rejects a payload one byte over maxPayloadBytes, saying how big it is", () => {
      const value = "a".repeat(maxPayloadBytes - 1);
      const error = thrown(() => toJson(value, "args")) as ValidationError;
      expect(error).toBeInstanceOf(ValidationError);
      expect(error.path).toBe("args");
      expect(error.message).toBe(
        `args: is ${maxPayloadBytes + 1} bytes as JSON; the limit is ${maxPayloadBytes} bytes`,
      );
    });

    it("counts multibyte characters in UTF-8 bytes, not in string length", () => {
      // Arrange: "€" is one UTF-16 unit but three UTF-8 bytes
      const count = Math.floor((maxPayloadBytes - 2) / 3) + 1;
      const value = "€".repeat(count);
      expect(JSON.stringify(value).length).toBeLessThan(maxPayloadBytes);
      // Act
      const error = thrown(() => toJson(value, "result")) as ValidationError;
      // Assert
      expect(error.message).toContain(`is ${count * 3 + 2} bytes as JSON`);
    });

    it("accepts multibyte text that lands exactly on the limit", () => {
      // Arrange: 87,380 × 3 bytes + 2 ASCII + 2 quotes = 262,144 bytes
      const value = `${"€".repeat(87_380)}ab`;
      // Act
      const text = toJson(value, "args");
      // Assert
      expect(Buffer.byteLength(text, "utf8")).toBe(maxPayloadBytes);
    });

    it("counts a four-byte emoji as four bytes", () => {
      // "😀" is two UTF-16 units and four UTF-8 bytes: 65,536 of them are 262,144 bytes + 2 quotes
      const error = thrown(() => toJson("😀".repeat(65_536), "args")) as ValidationError;
      expect(error.message).toContain(`is ${65_536 * 4 + 2} bytes as JSON`);
    });
  });
});
