import { describe, expect, it } from "vitest";
import { nextPermitAt, rateBudget, windowStart } from "../../sdk/src/domain/rate-window.js";

const sliding = { kind: "sliding", limit: 10, windowMs: 2000 } as const;
const fixed = { kind: "fixed", limit: 10, windowMs: 2000 } as const;

describe("rate window math", () => {
  it("aligns windows to epoch time", () => {
    expect(windowStart(4999, 2000)).toBe(4000);
    expect(windowStart(6000, 2000)).toBe(6000);
  });

  it("fixed: the budget is the limit, and the next permit is the next window", () => {
    expect(rateBudget(fixed, 4100, 10)).toBe(10);
    expect(nextPermitAt(fixed, 4100, 9, 10)).toBe(4100);
    expect(nextPermitAt(fixed, 4100, 10, 0)).toBe(6000);
  });

  it("sliding: a full previous window leaves nothing at the boundary and frees permits as it decays", () => {
    expect(rateBudget(sliding, 4000, 10)).toBe(0);
    expect(rateBudget(sliding, 4200, 10)).toBe(1); // 10 × 0.9 = 9 carried
    expect(rateBudget(sliding, 4300, 10)).toBe(1); // 8.5 carried, rounded up to 9
    expect(rateBudget(sliding, 5000, 10)).toBe(5);
    expect(rateBudget(sliding, 5999, 0)).toBe(10);
  });

  it("sliding: every start the budget allows keeps prev × (1 − elapsed/window) + count ≤ limit", () => {
    for (let prev = 0; prev <= 10; prev++) {
      for (let t = 4000; t < 6000; t += 37) {
        const budget = rateBudget(sliding, t, prev);
        // the start that makes count = budget
        expect(prev * (1 - (t - 4000) / 2000) + Math.max(0, budget)).toBeLessThanOrEqual(10 + 1e-9);
      }
    }
  });

  it("sliding: the next permit is when the budget first exceeds the count", () => {
    const at = nextPermitAt(sliding, 4000, 0, 10);
    expect(rateBudget(sliding, at, 10)).toBeGreaterThan(0);
    expect(at).toBe(4200);
    const later = nextPermitAt(sliding, 4500, 3, 10); // needs carried ≤ 6: elapsed ≥ 800
    expect(later).toBe(4800);
    expect(rateBudget(sliding, later, 10)).toBeGreaterThan(3);
    const nextWindow = nextPermitAt(sliding, 5900, 10, 4);
    expect(nextWindow).toBeGreaterThanOrEqual(6000);
    expect(rateBudget(sliding, nextWindow, 10)).toBeGreaterThan(0);
  });
});
