/**
 * The soak benchmark's arithmetic (issue #15): growth after warm-up is measured to the highest
 * sample after it, and the edit cycle puts each mistake before its fix.
 */
import { describe, expect, it } from "vitest";
import { editAt, expectedResult, modelEdits, SOAK_CYCLE } from "../../bench/soak-edits.js";
import { growthAfterWarmUp, withinAim } from "../../bench/soak-growth.js";
import { soakTargets } from "../../bench/soak-report.js";
import type { SoakResult } from "../../bench/soak.js";

const points = (values: [number, number | null][]) => values.map(([iteration, value]) => ({ iteration, value }));

describe("growth after warm-up", () => {
  it("compares the highest sample after warm-up with the one at its end, and reports the last beside it", () => {
    const growth = growthAfterWarmUp(
      points([
        [0, 80],
        [10, 120],
        [20, 100],
        [30, 115],
        [40, 104],
      ]),
      20,
    );
    expect(growth).toEqual({ atWarmUp: 100, max: 115, last: 104, delta: 15, percent: 15, lastPercent: 4 });
    expect(withinAim(growth, 10)).toBe(false);
  });

  it("takes the last sample at or before the warm-up's end as the reference, skipping unmeasured ones", () => {
    const growth = growthAfterWarmUp(
      points([
        [10, 50],
        [20, null],
        [30, 52],
      ]),
      20,
    );
    expect(growth.atWarmUp).toBe(50);
    expect(growth.percent).toBe(4);
    expect(withinAim(growth, 10)).toBe(true);
  });

  it("counts shrinking as no growth, growth from zero as not within any percentage", () => {
    expect(
      withinAim(
        growthAfterWarmUp(
          points([
            [20, 10],
            [30, 8],
          ]),
          20,
        ),
        10,
      ),
    ).toBe(true);
    const fromZero = growthAfterWarmUp(
      points([
        [20, 0],
        [30, 1],
      ]),
      20,
    );
    expect(fromZero.percent).toBeNull();
    expect(withinAim(fromZero, 10)).toBe(false);
    expect(
      growthAfterWarmUp(
        points([
          [20, 0],
          [30, 0],
        ]),
        20,
      ).percent,
    ).toBe(0);
  });

  it("is unmeasured, not a pass, without a sample after warm-up", () => {
    const growth = growthAfterWarmUp(
      points([
        [0, 80],
        [20, 100],
      ]),
      20,
    );
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

describe("the soak's rows in the targets table", () => {
  const growth = (atWarmUp: number, max: number) =>
    growthAfterWarmUp(
      points([
        [20, atWarmUp],
        [30, max],
      ]),
      20,
    );
  const soak = (overrides: Partial<SoakResult>): SoakResult =>
    ({
      iterations: 200,
      growth: {
        rssMb: growth(100, 105),
        heapUsedMb: growth(50, 51),
        fds: growth(30, 30),
        handles: growth(20, 20),
        listeners: growth(16, 16),
        childProcesses: growth(0, 0),
        danglingImages: growth(5, 5),
        buildCacheBytes: growth(1e9, 1e9),
        imageLayersBytes: growth(1e9, 1e9),
        modelImages: growth(4, 4),
        modelImageTags: growth(8, 8),
      },
      results: { success: 150, failed: 50, asExpected: 200, unexpected: 0 },
      exit: { code: 143, signal: null, stopMs: 900, descendantsBefore: 1, leftRunning: [] },
      ...overrides,
    }) as SoakResult;
  const met = (result: SoakResult) => Object.fromEntries(soakTargets(result).map((row) => [row.what, row.met]));

  it("meets every aim when nothing grew past 10%, every iteration went as expected and SIGTERM ended mlkube", () => {
    expect(Object.values(met(soak({})))).toEqual(soakTargets(soak({})).map(() => true));
  });

  it("fails the resident set at 12% growth, and the exit when mlkube had to be killed", () => {
    const rows = met(
      soak({
        growth: { ...soak({}).growth, rssMb: growth(100, 112) },
        exit: { code: null, signal: "SIGKILL", stopMs: 15_000, descendantsBefore: 0, leftRunning: [] },
      }),
    );
    expect(rows["soak: mlkube resident set (VmRSS), growth after warm-up"]).toBe(false);
    expect(Object.entries(rows).find(([what]) => what.startsWith("soak: SIGTERM ends mlkube"))?.[1]).toBe(false);
    expect(rows["soak: processes mlkube started left running after it ended"]).toBe(true);
  });

  it("holds the model's images to the prune rule's bound (9), not to a percentage: 6 → 7 passes, 10 fails", () => {
    const row = (atWarmUp: number, max: number) =>
      Object.entries(met(soak({ growth: { ...soak({}).growth, modelImages: growth(atWarmUp, max) } }))).filter(([what]) =>
        what.startsWith("soak: Docker: images mlkube built for the model"),
      );
    expect(row(6, 7)).toEqual([[expect.stringContaining("most after warm-up"), true]]);
    expect(row(6, 9)[0]![1]).toBe(true);
    expect(row(6, 10)[0]![1]).toBe(false);
  });

  it("says nothing about a soak that never ran", () => {
    expect(soakTargets(null)).toEqual([]);
  });
});
