/** Test helper: the `ValidationError` a call throws (the test fails if it throws nothing, or something else). */
import { expect } from "vitest";
import { ValidationError } from "../../sdk/src/errors.js";

export function rejection(fn: () => unknown): ValidationError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return error as ValidationError;
  }
  throw new Error("expected a ValidationError");
}
