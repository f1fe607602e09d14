/**
 * Growth after warm-up (issue #15: "growth after warm-up ≤ 10%"). The reference is the sample taken
 * at the end of warm-up; growth is measured to the highest sample after it, not to the last one:
 * a leak that a garbage collection or a reconnect happened to hide at the end still counts, so
 * this is the stricter reading. The last sample's growth is reported beside it.
 */
import { round } from "./stats.js";

export interface Growth {
  /** The sample at the end of warm-up. */
  atWarmUp: number | null;
  /** The highest and the last sample after warm-up. */
  max: number | null;
  last: number | null;
  /** max − atWarmUp, in the measure's unit. */
  delta: number | null;
  /** delta / atWarmUp × 100; null when there is nothing to compare, or atWarmUp is 0 and max is not. */
  percent: number | null;
  /** The same for the last sample. */
  lastPercent: number | null;
}

export interface Point {
  iteration: number;
  value: number | null;
}

const percentOf = (value: number, base: number) => (base === 0 ? (value === 0 ? 0 : null) : round(((value - base) / base) * 100, 1));

/** `warmUp` iterations are the warm-up: its reference is the last sample taken at or before it. */
export function growthAfterWarmUp(points: readonly Point[], warmUp: number): Growth {
  const measured = points.filter((point): point is { iteration: number; value: number } => point.value !== null);
  const reference = measured.filter((point) => point.iteration <= warmUp).at(-1)?.value ?? null;
  const after = measured.filter((point) => point.iteration > warmUp).map((point) => point.value);
  if (reference === null || after.length === 0) return { atWarmUp: reference, max: null, last: null, delta: null, percent: null, lastPercent: null };
  const max = Math.max(...after);
  const last = after.at(-1)!;
  return { atWarmUp: reference, max, last, delta: round(max - reference, 1), percent: percentOf(max, reference), lastPercent: percentOf(last, reference) };
}

/** Within the aim: no growth at all, or at most `percent`. Unmeasured is null, not a pass. */
export function withinAim(growth: Growth, percent: number): boolean | null {
  if (growth.delta === null) return null;
  return growth.delta <= 0 || (growth.percent !== null && growth.percent <= percent);
}
