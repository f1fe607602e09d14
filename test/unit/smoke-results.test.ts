import { describe, expect, it } from "vitest";
import type { JsonValue, ResponseSnapshot } from "../../src/core/expectations.js";
import type { SmokeCase } from "../../src/core/smoke-cases.js";
import { compareRuns, percentile, summarizeCase, type SmokeResult } from "../../src/core/smoke-results.js";

function snapshot(json: JsonValue, latencyMs: number, status = 200): ResponseSnapshot {
  const text = JSON.stringify(json);
  return { status, bodyText: text, bodyLength: text.length, json, latencyMs };
}

const predictCase: SmokeCase = {
  name: "setosa",
  source: "test",
  method: "POST",
  path: "/predict",
  headers: {},
  body: "{}",
  repeat: 4,
  expect: { status: 200, tolerance: 0, json: { prediction: [0] }, latencyMs: 50 },
  timeoutMs: 100,
};

describe("summarizeCase", () => {
  it("passes when every response meets the expectations, keeping the first response and the latency spread", () => {
    const result = summarizeCase(
      predictCase,
      [10, 30, 20, 40].map((ms) => ({ response: snapshot({ prediction: [0] }, ms) })),
    );
    expect(result).toMatchObject({ passed: true, requests: 4, failedRequests: 0, failures: [], latency: { p50: 20, p95: 40, max: 40 }, error: undefined });
    expect(result.response?.latencyMs).toBe(10);
  });

  it("reports the worst response: most failures first, then the slowest", () => {
    const result = summarizeCase(predictCase, [
      { response: snapshot({ prediction: [0] }, 60) },
      { response: snapshot({ prediction: [2] }, 70) },
      { response: snapshot({ prediction: [0] }, 10) },
      { response: snapshot({ prediction: [2] }, 20) },
    ]);
    expect(result.passed).toBe(false);
    expect(result.failedRequests).toBe(3);
    expect(result.failures.map((failure) => failure.what)).toEqual(["json.prediction[0]", "latencyMs"]);
    expect(result.response?.latencyMs).toBe(70);
  });

  it("counts a request without an answer as the worst, with its reason", () => {
    const result = summarizeCase(predictCase, [{ response: snapshot({ prediction: [2] }, 10) }, { error: "no answer within 100 ms" }]);
    expect(result.error).toBe("no answer within 100 ms");
    expect(result.failures).toEqual([{ what: "response", expected: "an answer", actual: "no answer within 100 ms" }]);
    expect(result.response).toBeUndefined();
    expect(result.latency).toEqual({ p50: 10, p95: 10, max: 10 });
  });
});

describe("percentile (nearest rank)", () => {
  it.each([
    [[5], 50, 5],
    [[1, 2, 3, 4], 50, 2],
    [[1, 2, 3, 4], 95, 4],
    [Array.from({ length: 20 }, (_, index) => index + 1), 95, 19],
    [[], 50, 0],
  ])("%j p%i = %i", (values, p, expected) => {
    expect(percentile(values, p)).toBe(expected);
  });
});

function result(name: string, overrides: Partial<SmokeResult> & { json?: JsonValue; p50?: number; status?: number }): SmokeResult {
  const { json = { prediction: [0] }, p50 = 10, status = 200, ...rest } = overrides;
  return {
    name,
    source: "test",
    method: "POST",
    path: "/predict",
    passed: true,
    requests: 1,
    failedRequests: 0,
    failures: [],
    latency: { p50, p95: p50, max: p50 },
    response: snapshot(json, p50, status),
    error: undefined,
    ...rest,
  };
}

describe("compareRuns", () => {
  it("says nothing when nothing moved", () => {
    expect(compareRuns([result("a", {})], [result("a", { p50: 14 })])).toEqual([]);
  });

  it("reports a prediction that changed, old -> new", () => {
    expect(compareRuns([result("a", {})], [result("a", { json: { prediction: [2] } })])).toEqual([
      { test: "a", kind: "body", message: "body.prediction[0]: 0 -> 2" },
    ]);
  });

  it("ignores float noise but not real changes", () => {
    expect(compareRuns([result("a", { json: { p: 0.1 + 0.2 } })], [result("a", { json: { p: 0.3 } })])).toEqual([]);
    expect(compareRuns([result("a", { json: { p: 0.3 } })], [result("a", { json: { p: 0.31 } })])).toEqual([
      { test: "a", kind: "body", message: "body.p: 0.3 -> 0.31" },
    ]);
  });

  it("reports a text body that changed", () => {
    const before = result("health", {});
    const after = result("health", {});
    before.response = { status: 200, bodyText: "ok", bodyLength: 2, json: undefined, latencyMs: 1 };
    after.response = { status: 200, bodyText: "ready", bodyLength: 5, json: undefined, latencyMs: 1 };
    expect(compareRuns([before], [after])).toEqual([{ test: "health", kind: "body", message: 'body: "ok" -> "ready"' }]);
  });

  it("reports newly failing tests with the first failure, fixed tests, and status changes", () => {
    const failing = result("a", {
      passed: false,
      status: 500,
      json: { error: "x" },
      failures: [{ what: "status", expected: "200", actual: "500" }],
    });
    expect(compareRuns([result("a", {})], [failing])).toEqual([
      { test: "a", kind: "newly-failing", message: "now failing: status: expected 200, got 500" },
      { test: "a", kind: "status", message: "status 200 -> 500" },
      { test: "a", kind: "body", message: "body.prediction: [0] -> nothing (no such key)" },
      { test: "a", kind: "body", message: 'body.error: no such key -> "x"' },
    ]);
    expect(compareRuns([failing], [result("a", {})]).map((change) => change.kind)).toEqual(["fixed", "status", "body", "body"]);
  });

  it.each([
    [10, 20, "p50 10 ms -> 20 ms (+100%)"],
    [100, 70, "p50 100 ms -> 70 ms (-30%)"],
    [10, 14, undefined], // +40% but only 4 ms
    [100, 115, undefined], // 15 ms but only +15%
  ])("latency p50 %i -> %i", (before, after, message) => {
    const changes = compareRuns([result("a", { p50: before })], [result("a", { p50: after })]);
    expect(changes).toEqual(message ? [{ test: "a", kind: "latency", message }] : []);
  });

  it("matches tests by name, and equal names by order; new tests are not compared", () => {
    const previous = [result("POST /predict", { json: 1 }), result("POST /predict", { json: 2 })];
    const current = [result("POST /predict", { json: 1 }), result("POST /predict", { json: 3 }), result("new", {})];
    expect(compareRuns(previous, current)).toEqual([{ test: "POST /predict", kind: "body", message: "body: 2 -> 3" }]);
  });

  it("lists three body changes and counts the rest", () => {
    const changes = compareRuns([result("a", { json: [1, 1, 1, 1, 1] })], [result("a", { json: [2, 2, 2, 2, 2] })]);
    expect(changes.map((change) => change.message)).toEqual(["body[0]: 1 -> 2", "body[1]: 1 -> 2", "body[2]: 1 -> 2", "body: 2 more changes"]);
  });
});
