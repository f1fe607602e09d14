import { describe, expect, it } from "vitest";
import type { SmokeResult } from "../../src/core/smoke-results.js";
import { combineRuns, describeAnsweredBy, urlAgreesWithPods, verdictWord, type VerificationRun } from "../../src/core/verification.js";

const result = (name: string, passed: boolean, p50 = 10, prediction = passed ? 0 : 2): SmokeResult => ({
  name,
  source: "test",
  method: "POST",
  path: "/predict",
  passed,
  requests: 1,
  failedRequests: passed ? 0 : 1,
  failures: passed ? [] : [{ what: "body.prediction[0]", expected: "0", actual: String(prediction) }],
  latency: { p50, p95: p50, max: p50 },
  response: { status: 200, bodyText: "{}", bodyLength: 2, json: { prediction: [prediction] }, latencyMs: p50 },
  error: undefined,
});
const pod = (target: string, ...results: SmokeResult[]): VerificationRun => ({ target, via: "pod", results });
const url = (...results: SmokeResult[]): VerificationRun => ({ target: "http://127.0.0.1:30080", via: "url", results });

describe("combining the runs against each new pod and the URL", () => {
  it("passes a test only when every pod and the URL passed it, and says who answered", () => {
    const tests = combineRuns([pod("iris-new-a", result("setosa", true, 12)), pod("iris-new-b", result("setosa", true, 15)), url(result("setosa", true, 9))]);
    expect(tests).toEqual([{ name: "setosa", passed: true, latencyMs: 9, answeredBy: ["iris-new-a", "iris-new-b", "url"], failures: [] }]);
  });

  it("fails a test that one replica fails, naming that pod in the failure", () => {
    const tests = combineRuns([pod("iris-new-a", result("setosa", true)), pod("iris-new-b", result("setosa", false)), url(result("setosa", true))]);
    expect(tests[0]?.passed).toBe(false);
    expect(tests[0]?.failures).toEqual([{ what: "pod iris-new-b: body.prediction[0]", expected: "0", actual: "2" }]);
  });

  it("fails a test that only the URL fails, naming the URL", () => {
    const tests = combineRuns([pod("iris-new-a", result("setosa", true)), url(result("setosa", false))]);
    expect(tests[0]).toMatchObject({ passed: false, failures: [{ what: "via http://127.0.0.1:30080: body.prediction[0]" }] });
  });

  it("with one pod and no Service, keeps the failure's own wording and the pod's latency", () => {
    const tests = combineRuns([pod("iris-new-a", result("setosa", false, 40))]);
    expect(tests[0]).toMatchObject({ passed: false, latencyMs: 40, answeredBy: ["iris-new-a"], failures: [{ what: "body.prediction[0]" }] });
  });

  it("a pod that got no answer is not listed as having answered", () => {
    const silent: SmokeResult = { ...result("setosa", false), response: undefined, error: "connection refused" };
    expect(combineRuns([pod("iris-new-a", silent), url(result("setosa", true))])[0]?.answeredBy).toEqual(["url"]);
  });

  it("no runs, no tests", () => {
    expect(combineRuns([])).toEqual([]);
  });
});

describe("whether the URL agrees with the pods (else the route may still reach an old pod)", () => {
  it.each([
    { case: "both pass", pods: [true], viaUrl: true, agrees: true },
    { case: "pods pass, URL fails: the route lags", pods: [true], viaUrl: false, agrees: false },
    { case: "a pod fails and the URL fails: the new version is broken, no retry helps", pods: [false], viaUrl: false, agrees: true },
    { case: "pods fail, URL passes: the URL reached an old pod, the pods decide", pods: [false], viaUrl: true, agrees: true },
  ])("$case", ({ pods, viaUrl, agrees }) => {
    const podRuns = pods.map((passed, index) => pod(`p${index}`, result("setosa", passed)));
    expect(urlAgreesWithPods(podRuns, url(result("setosa", viaUrl)))).toBe(agrees);
  });
});

describe("how the UI names who answered and what a success is called", () => {
  it.each([
    { answeredBy: ["iris-new-a", "url"], text: "iris-new-a + url" },
    { answeredBy: ["a", "b", "c", "url"], text: "3 pods + url" },
    { answeredBy: ["a"], text: "a" },
    { answeredBy: [], text: "no answer" },
  ])("$text", ({ answeredBy, text }) => {
    expect(describeAnsweredBy(answeredBy)).toBe(text);
  });

  it("says verified only when smoke tests ran", () => {
    expect(verdictWord(3)).toBe("verified in");
    expect(verdictWord(0)).not.toContain("verified in");
  });
});
