/**
 * "Verified" means the new version answered. The smoke tests therefore run once against each pod
 * of the new version (through the API server, so the answer can only come from that pod), and
 * once through the model's URL after the Service routes to new pods alone. This module turns those
 * runs into one outcome per test, saying which pod answered and where a test failed. Pure.
 */
import type { SmokeResult } from "./smoke-results.js";

/** One pass over every smoke case against one target. */
export interface VerificationRun {
  /** A pod's name, or the model's URL. */
  target: string;
  via: "pod" | "url";
  results: readonly SmokeResult[];
}

interface VerifiedTest {
  name: string;
  passed: boolean;
  /** The latency a user's curl sees: the URL run's p50, else the slowest pod's. */
  latencyMs: number;
  /** Who answered: the pods by name, then "url" when the URL run reached it. */
  answeredBy: string[];
  failures: { what: string; expected: string; actual: string }[];
}

/**
 * One outcome per smoke case: passed only if it passed on every target. A failure names its
 * target ("pod iris-7d9f-abcde: prediction[0]") whenever more than one target was tested, so the
 * user knows which replica (or the route) disagrees.
 */
export function combineRuns(runs: readonly VerificationRun[]): VerifiedTest[] {
  const first = runs[0];
  if (!first) return [];
  const named = runs.length > 1;
  return first.results.map((result, index) => {
    const perTarget = runs
      .map((run) => ({ run, result: run.results[index] }))
      .filter((entry): entry is { run: VerificationRun; result: SmokeResult } => entry.result !== undefined);
    const failing = perTarget.filter((entry) => !entry.result.passed);
    const viaUrl = perTarget.find((entry) => entry.run.via === "url");
    const latencies = perTarget.filter((entry) => entry.run.via === "pod").map((entry) => entry.result.latency?.p50 ?? 0);
    return {
      name: result.name,
      passed: failing.length === 0 && perTarget.length === runs.length,
      latencyMs: viaUrl?.result.latency?.p50 ?? Math.max(0, ...latencies),
      answeredBy: perTarget.filter((entry) => entry.result.response !== undefined).map((entry) => (entry.run.via === "url" ? "url" : entry.run.target)),
      failures: failing.flatMap((entry) =>
        entry.result.failures.map((failure) => ({ ...failure, what: named ? `${describeTarget(entry.run)}: ${failure.what}` : failure.what })),
      ),
    };
  });
}

function describeTarget(run: Pick<VerificationRun, "target" | "via">): string {
  return run.via === "url" ? `via ${run.target}` : `pod ${run.target}`;
}

/** True when every test that passed on all the pods also passed through the URL. */
export function urlAgreesWithPods(podRuns: readonly VerificationRun[], urlRun: VerificationRun): boolean {
  return urlRun.results.every((result, index) => result.passed || podRuns.some((run) => run.results[index]?.passed === false));
}

/** Short form for a result row: "iris-7d9f-abcde + url", "3 pods + url". */
export function describeAnsweredBy(answeredBy: readonly string[]): string {
  const pods = answeredBy.filter((entry) => entry !== "url");
  const url = answeredBy.includes("url") ? " + url" : "";
  if (pods.length === 0) return url ? "url" : "no answer";
  return `${pods.length === 1 ? pods[0] : `${pods.length} pods`}${url}`;
}

/** A success is "verified" only when smoke tests ran; without any the new version never answered one. */
export function verdictWord(testCount: number): string {
  return testCount > 0 ? "verified in" : "deployed (no smoke tests to verify it) in";
}
