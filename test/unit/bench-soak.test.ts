/**
 * The soak benchmark's arithmetic (issue #15): growth after warm-up is measured to the highest
 * sample after it, and the edit cycle puts each mistake before its fix.
 */
import { describe, expect, it } from "vitest";
import { editAt, expectedResult, modelEdits, SOAK_CYCLE } from "../../bench/soak-edits.js";
import { growthAfterWarmUp, withinAim } from "../../bench/soak-growth.js";

const points = (values: [number, number | null][]) => values.map(([iteration, value]) => ({ iteration, value }));

describe("growth after warm-up", () => {
  it("compares the highest sample after warm-up with the one at its end, and reports the last beside it", () => {
    const growth = growthAfterWarmUp(points([[0, 80], [10, 120], [20, 100], [30, 115], [40, 104]]), 20);
    expect(growth).toEqual({ atWarmUp: 100, max: 115, last: 104, delta: 15, percent: 15, lastPercent: 4 });
    expect(withinAim(growth, 10)).toBe(false);
  });

  it("takes the last sample at or before the warm-up's end as the reference, skipping unmeasured ones", () => {
    const growth = growthAfterWarmUp(points([[10, 50], [20, null], [30, 52]]), 20);
    expect(growth.atWarmUp).toBe(50);
    expect(growth.percent).toBe(4);
    expect(withinAim(growth, 10)).toBe(true);
  });

  it("counts shrinking as no growth, growth from zero as not within any percentage", () => {
    expect(withinAim(growthAfterWarmUp(points([[20, 10], [30, 8]]), 20), 10)).toBe(true);
    const fromZero = growthAfterWarmUp(points([[20, 0], [30, 1]]), 20);
    expect(fromZero.percent).toBeNull();
    expect(withinAim(fromZero, 10)).toBe(false);
    expect(growthAfterWarmUp(points([[20, 0], [30, 0]]), 20).percent).toBe(0);
  });

  it("is unmeasured, not a pass, without a sample after warm-up", () => {
    const growth = growthAfterWarmUp(points([[0, 80], [20, 100]]), 20);
    expect(growth.delta).toBeNull();
    expect(withinAim(growth, 10)).toBeNull();
  });
});

describe("the soak's edit cycle", () => {
  it("repeats the cycle, each mistake followed by its fix", () => {
    expect(editAt(1)).toBe(SOAK_CYCLE[0]);
    expect(editAt(SOAK_CYCLE.length + 1)).toBe(SOAK_CYCLE[0]);
    expect(SOAK_CYCLE[SOAK_CYCLE.indexOf("broken build") + 1]).toBe("build fix");
    expect(SOAK_CYCLE[SOAK_CYCLE.indexOf("crashing pod") + 1]).toBe("crash fix");
    expect(modelEdits(200)).toBe(25);
  });

  it("expects the mistakes to fail and the fixes to succeed", () => {
    expect(expectedResult("broken build")).toBe("failed");
    expect(expectedResult("crashing pod")).toBe("failed");
    expect(expectedResult("build fix")).toBe("success");
    expect(expectedResult("crash fix")).toBe("success");
  });
});
