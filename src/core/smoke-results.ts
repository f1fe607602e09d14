/**
 * From the responses to one case's requests to a result, and from two runs to what changed between
 * them: the dev loop says "prediction[0]: 0 -> 2" or "p50 12 ms -> 30 ms" after an edit. Pure.
 */
import { FLOAT_NOISE, checkResponse, diffJson, formatValue, type Mismatch, type ResponseSnapshot } from "./expectations.js";
import type { SmokeCase } from "./smoke-cases.js";

/** One request of a case: its response, or why none came (refused, timed out). */
export type RequestOutcome = { response: ResponseSnapshot } | { error: string };

interface Latency {
  p50: number;
  p95: number;
  max: number;
}

export interface SmokeResult {
  name: string;
  source: SmokeCase["source"];
  method: string;
  path: string;
  passed: boolean;
  requests: number;
  failedRequests: number;
  /** The unmet expectations of the worst request; empty when the case passed. */
  failures: Mismatch[];
  /** Over the requests that were answered. */
  latency: Latency | undefined;
  /** The worst request's response (the first one when all passed), kept for the next comparison. */
  response: ResponseSnapshot | undefined;
  /** Why the worst request got no answer, if it got none. */
  error: string | undefined;
}

export function summarizeCase(smokeCase: SmokeCase, outcomes: readonly RequestOutcome[]): SmokeResult {
  const judged = outcomes.map((outcome) => ({
    outcome,
    failures: "error" in outcome ? [{ what: "response", expected: "an answer", actual: outcome.error }] : checkResponse(smokeCase.expect, outcome.response),
  }));
  // Every response is checked; the worst one is reported: no answer, then most failures, then slowest.
  const rank = (entry: (typeof judged)[number]) => [
    "error" in entry.outcome ? 1 : 0,
    entry.failures.length,
    "response" in entry.outcome ? entry.outcome.response.latencyMs : 0,
  ];
  const worst = judged.reduce<(typeof judged)[number] | undefined>(
    (kept, entry) => (kept === undefined || isGreater(rank(entry), rank(kept)) ? entry : kept),
    undefined,
  );
  const failedRequests = judged.filter((entry) => entry.failures.length > 0).length;
  const reported = failedRequests > 0 ? worst : judged[0];
  const latencies = outcomes.flatMap((outcome) => ("response" in outcome ? [outcome.response.latencyMs] : []));
  return {
    name: smokeCase.name,
    source: smokeCase.source,
    method: smokeCase.method,
    path: smokeCase.path,
    passed: outcomes.length > 0 && failedRequests === 0,
    requests: outcomes.length,
    failedRequests,
    failures: failedRequests > 0 ? (worst?.failures ?? []) : [],
    latency: latencies.length > 0 ? latencyOf(latencies) : undefined,
    response: reported && "response" in reported.outcome ? reported.outcome.response : undefined,
    error: reported && "error" in reported.outcome ? reported.outcome.error : undefined,
  };
}

function isGreater(left: number[], right: number[]): boolean {
  for (let index = 0; index < left.length; index++) {
    const difference = (left[index] ?? 0) - (right[index] ?? 0);
    if (difference !== 0) return difference > 0;
  }
  return false;
}

function latencyOf(latencies: readonly number[]): Latency {
  const sorted = [...latencies].sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p95: percentile(sorted, 95), max: sorted.at(-1) ?? 0 };
}

/** Nearest-rank percentile of sorted values: always one of the measured values. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1] ?? 0;
}

interface RunChange {
  test: string;
  kind: "newly-failing" | "fixed" | "status" | "body" | "latency";
  message: string;
}

/** Latency moves worth mentioning: more than 20% and more than 5 ms (small numbers jitter). */
const LATENCY_RELATIVE = 0.2;
const LATENCY_ABSOLUTE_MS = 5;
/** Body differences listed per test before the rest are counted. */
const MAX_BODY_CHANGES = 3;

/**
 * What changed for each test between two runs, matched by name (and by order among equal names).
 * Tests only in one of the runs are not compared.
 */
export function compareRuns(previous: readonly SmokeResult[], current: readonly SmokeResult[]): RunChange[] {
  const before = new Map(keyed(previous));
  return keyed(current).flatMap(([key, now]) => {
    const then = before.get(key);
    return then ? compareResults(then, now) : [];
  });
}

function keyed(results: readonly SmokeResult[]): [string, SmokeResult][] {
  const seen = new Map<string, number>();
  return results.map((result) => {
    const count = seen.get(result.name) ?? 0;
    seen.set(result.name, count + 1);
    return [`${result.name}\u0000${count}`, result];
  });
}

function compareResults(then: SmokeResult, now: SmokeResult): RunChange[] {
  const test = now.name;
  const changes: RunChange[] = [];
  if (then.passed && !now.passed) {
    const first = now.failures[0];
    changes.push({ test, kind: "newly-failing", message: `now failing${first ? `: ${first.what}: expected ${first.expected}, got ${first.actual}` : ""}` });
  }
  if (!then.passed && now.passed) changes.push({ test, kind: "fixed", message: "now passing" });
  if (then.response && now.response) {
    if (then.response.status !== now.response.status)
      changes.push({ test, kind: "status", message: `status ${then.response.status} -> ${now.response.status}` });
    changes.push(...bodyChanges(test, then.response, now.response));
  }
  if (then.latency && now.latency) {
    const [old, fresh] = [then.latency.p50, now.latency.p50];
    const moved = fresh - old;
    if (Math.abs(moved) > LATENCY_ABSOLUTE_MS && Math.abs(moved) > LATENCY_RELATIVE * old) {
      const percent = old > 0 ? ` (${moved > 0 ? "+" : ""}${Math.round((moved / old) * 100)}%)` : "";
      changes.push({ test, kind: "latency", message: `p50 ${Math.round(old)} ms -> ${Math.round(fresh)} ms${percent}` });
    }
  }
  return changes;
}

function bodyChanges(test: string, then: ResponseSnapshot, now: ResponseSnapshot): RunChange[] {
  if (then.json !== undefined && now.json !== undefined) {
    const differences = diffJson(then.json, now.json, "body", { tolerance: FLOAT_NOISE, subset: false });
    const listed = differences
      .slice(0, MAX_BODY_CHANGES)
      .map((difference) => ({ test, kind: "body" as const, message: `${difference.what}: ${difference.expected} -> ${difference.actual}` }));
    const rest = differences.length - listed.length;
    return rest > 0 ? [...listed, { test, kind: "body", message: `body: ${rest} more change${rest === 1 ? "" : "s"}` }] : listed;
  }
  if (then.bodyText === now.bodyText) return [];
  return [{ test, kind: "body", message: `body: ${formatValue(then.bodyText)} -> ${formatValue(now.bodyText)}` }];
}
