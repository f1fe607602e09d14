// What `mlkube reproduce` reports after the run: each replayed request against its recording, the
// findings the production settings caused (OOM kill, early readiness probe, CPU throttling), the
// text a user reads and the exit status.
import { describe, expect, it } from "vitest";
import { findingFromRollout, oomFindings, readinessFinding, throttlingFinding, type ModelSettings, type PodHistory } from "../../src/reproduce/findings.js";
import { exitCodeOf, formatReport, judgeReplay, type ReproduceReport } from "../../src/reproduce/report.js";
import { parseRecordedRequests } from "../../src/core/smoke-cases.js";
import { summarizeCase } from "../../src/core/smoke-results.js";

const SETTINGS: ModelSettings = {
  container: "iris",
  memoryLimit: "512Mi",
  cpuLimit: 0.5,
  cpuLimitText: "500m",
  readiness: { initialDelaySeconds: 1, periodSeconds: 1, failureThreshold: 3 },
};
const T0 = Date.parse("2026-11-26T10:00:00Z");

const RECORDED = [
  '{"name": "setosa", "request": {"path": "/predict", "body": {"features": [5.1, 3.5, 1.4, 0.2]}}, "response": {"status": 200, "body": {"prediction": [0]}, "latencyMs": 6}}',
  '{"name": "virginica", "request": {"path": "/predict", "body": {"features": [6.7, 3.0, 5.2, 2.3]}}, "response": {"status": 200, "body": {"prediction": [2]}}}',
  '{"name": "health", "request": {"path": "/"}, "response": {"status": 200, "body": "ok\\n"}}',
].join("\n");

function replayOf(answers: { status: number; body: string; latencyMs: number }[]) {
  const cases = parseRecordedRequests(RECORDED, "recorded.jsonl");
  const results = cases.map((smokeCase, index) => {
    const answer = answers[index];
    if (!answer) return summarizeCase(smokeCase, [{ error: "connection refused" }]);
    let json;
    try {
      json = JSON.parse(answer.body);
    } catch {
      json = undefined;
    }
    return summarizeCase(smokeCase, [
      { response: { status: answer.status, bodyText: answer.body, bodyLength: answer.body.length, json, latencyMs: answer.latencyMs } },
    ]);
  });
  return judgeReplay(cases, results);
}

function pod(overrides: Partial<PodHistory> = {}): PodHistory {
  return {
    name: "iris-7d9c-abcde",
    startedAtMs: T0,
    readyAtMs: T0 + 6000,
    readinessFailures: [],
    containers: [{ name: "iris", restartCount: 0 }],
    ...overrides,
  };
}

describe("replay against the recording", () => {
  it("reads the recorded latency and reports each difference in status and body", () => {
    const replay = replayOf([
      { status: 200, body: '{"prediction": [0]}', latencyMs: 9.4 },
      { status: 200, body: '{"prediction": [0]}', latencyMs: 11 },
      { status: 503, body: "loading\n", latencyMs: 2 },
    ]);
    expect(replay).toEqual([
      { name: "setosa", method: "POST", path: "/predict", same: true, status: 200, latencyMs: 9.4, recordedLatencyMs: 6, differences: [] },
      {
        name: "virginica",
        method: "POST",
        path: "/predict",
        same: false,
        status: 200,
        latencyMs: 11,
        recordedLatencyMs: undefined,
        differences: ["json.prediction[0]: expected 2, got 0"],
      },
      {
        name: "health",
        method: "GET",
        path: "/",
        same: false,
        status: 503,
        latencyMs: 2,
        recordedLatencyMs: undefined,
        differences: ["status: expected 200, got 503", 'body: expected "ok\\n", got "loading\\n"'],
      },
    ]);
  });

  it("says when a request got no answer", () => {
    const [, , health] = replayOf([
      { status: 200, body: '{"prediction": [0]}', latencyMs: 5 },
      { status: 200, body: '{"prediction": [2]}', latencyMs: 5 },
    ]);
    expect(health).toMatchObject({ same: false, status: undefined, differences: ["no answer: connection refused"] });
  });
});

describe("what the production settings caused", () => {
  it("an OOM kill during the rollout names the production memory limit", () => {
    const finding = findingFromRollout(
      {
        state: "failed",
        kind: "oom-killed",
        message: "Container iris of pod iris-1 was OOMKilled (memory limit 40Mi), exit code 137.",
        evidence: [],
        hint: "",
      },
      { ...SETTINGS, memoryLimit: "40Mi" },
    );
    expect(finding).toEqual({
      kind: "oom-killed",
      message: "OOMKilled under the production memory limit (40Mi): the model needs more memory than production allows it, before it even served.",
      evidence: ["Container iris of pod iris-1 was OOMKilled (memory limit 40Mi), exit code 137."],
      hint: "Raise resources.limits.memory of container iris in the production manifest (and re-run reproduce to confirm), or make the model load in less memory.",
    });
  });

  it("a readiness probe that never passed is a finding; a crash loop explains itself", () => {
    expect(
      findingFromRollout({ state: "failed", kind: "readiness", message: "", evidence: ["Unhealthy: Readiness probe failed: 404"], hint: "" }, SETTINGS),
    ).toMatchObject({
      kind: "readiness-too-early",
      message: "The readiness probe never passed (initialDelaySeconds 1, periodSeconds 1).",
      evidence: ["Unhealthy: Readiness probe failed: 404"],
    });
    expect(findingFromRollout({ state: "failed", kind: "crash-loop", message: "", evidence: [], hint: "" }, SETTINGS)).toBeUndefined();
  });

  it("an OOM kill while serving lists each killed container", () => {
    const killed = pod({ containers: [{ name: "iris", restartCount: 2, lastTerminated: { reason: "OOMKilled", exitCode: 137 } }] });
    expect(oomFindings([pod({ name: "fine" }), killed], SETTINGS, "while serving")).toEqual([
      {
        kind: "oom-killed",
        message: "OOMKilled while serving under the production memory limit (512Mi).",
        evidence: ["pod iris-7d9c-abcde, container iris: OOMKilled, exit code 137, restarted 2 time(s)"],
        hint: "Raise resources.limits.memory of container iris in the production manifest, or lower the model's peak memory (batch size, lazy loading).",
      },
    ]);
    expect(
      oomFindings([pod({ containers: [{ name: "iris", restartCount: 1, lastTerminated: { reason: "Error", exitCode: 1 } }] })], SETTINGS, "while serving"),
    ).toEqual([]);
  });

  it("readiness failures before the pod became ready mean the probe fired before the model had loaded", () => {
    const early = pod({ readinessFailures: [{ message: "Readiness probe failed: connection refused", count: 4 }] });
    expect(readinessFinding([early], SETTINGS)).toEqual({
      kind: "readiness-too-early",
      message:
        "The readiness probe fired before the model had loaded: 4 failed probe(s) before the pod became ready (initialDelaySeconds 1; it answered after about 6 s).",
      evidence: ["pod iris-7d9c-abcde: Readiness probe failed: connection refused (x4)"],
      hint: "Raise readinessProbe.initialDelaySeconds of container iris to at least 6, or add a startupProbe that allows for the model's load time.",
    });
    expect(readinessFinding([pod()], SETTINGS)).toBeUndefined();
  });

  const throttling: {
    name: string;
    requests: { name: string; latencyMs: number; recordedLatencyMs?: number }[];
    settings: ModelSettings;
    message: string | undefined;
  }[] = [
    {
      name: "slower than twice the recording under a CPU limit",
      requests: [
        { name: "a", latencyMs: 180, recordedLatencyMs: 20 },
        { name: "b", latencyMs: 25, recordedLatencyMs: 20 },
      ],
      settings: SETTINGS,
      message: "CPU throttling is likely: 1 of 2 request(s) took more than twice their recorded latency under the production CPU limit (500m).",
    },
    {
      name: "twice as slow but by only a few ms is noise",
      requests: [{ name: "a", latencyMs: 12, recordedLatencyMs: 5 }],
      settings: SETTINGS,
      message: undefined,
    },
    {
      name: "no CPU limit, no throttling",
      requests: [{ name: "a", latencyMs: 900, recordedLatencyMs: 20 }],
      settings: { ...SETTINGS, cpuLimit: undefined },
      message: undefined,
    },
    {
      name: "without a recording, a whole CFS period under a limit below one core",
      requests: [
        { name: "a", latencyMs: 140 },
        { name: "b", latencyMs: 8 },
      ],
      settings: SETTINGS,
      message: "CPU throttling is possible: 1 of 2 request(s) took 100 ms or more under a CPU limit of 500m (at most 50 ms of CPU per 100 ms).",
    },
    {
      name: "without a recording and with a whole core, nothing to say",
      requests: [{ name: "a", latencyMs: 140 }],
      settings: { ...SETTINGS, cpuLimit: 2, cpuLimitText: "2" },
      message: undefined,
    },
  ];
  it.each(throttling)("throttling: $name", ({ requests, settings, message }) => {
    expect(throttlingFinding(requests, settings)?.message).toBe(message);
  });
});

describe("the report", () => {
  const complete: ReproduceReport["rollout"] = { state: "complete", ready: 3, desired: 3 };

  it("prints the rollout, each replayed request and the findings, and exits 1 on a difference", () => {
    const report: ReproduceReport = {
      rollout: complete,
      endpoint: "http://127.0.0.1:30080",
      replay: replayOf([
        { status: 200, body: '{"prediction": [0]}', latencyMs: 9.4 },
        { status: 200, body: '{"prediction": [0]}', latencyMs: 11 },
        { status: 200, body: "ok\n", latencyMs: 2 },
      ]),
      findings: [readinessFinding([pod({ readinessFailures: [{ message: "Readiness probe failed: connection refused", count: 2 }] })], SETTINGS)!],
    };
    expect(formatReport(report)).toBe(
      [
        "rollout: ready 3/3, answering at http://127.0.0.1:30080",
        "",
        "replay: 3 recorded request(s), 2 same, 1 different",
        "  same       setosa     200  9 ms (recorded 6 ms)",
        "  DIFFERENT  virginica  200  11 ms",
        "             json.prediction[0]: expected 2, got 0",
        "  same       health     200  2 ms",
        "",
        "production settings caused:",
        "  readiness-too-early: The readiness probe fired before the model had loaded: 2 failed probe(s) before the pod became ready (initialDelaySeconds 1; it answered after about 6 s).",
        "    pod iris-7d9c-abcde: Readiness probe failed: connection refused (x2)",
        "    fix: Raise readinessProbe.initialDelaySeconds of container iris to at least 6, or add a startupProbe that allows for the model's load time.",
        "",
      ].join("\n"),
    );
    expect(exitCodeOf(report)).toBe(1);
    expect(exitCodeOf({ ...report, replay: report.replay?.filter((verdict) => verdict.same) })).toBe(0);
  });

  it("prints a failed rollout with its evidence, the skipped replay, and exits 1", () => {
    const report: ReproduceReport = {
      rollout: {
        state: "failed",
        kind: "oom-killed",
        message: "Container iris of pod iris-1 was OOMKilled (memory limit 40Mi), exit code 137.",
        evidence: ["Killed"],
        hint: "Raise the limit.",
      },
      replaySkipped: "the rollout failed",
      findings: [],
    };
    expect(formatReport(report)).toBe(
      [
        "rollout: FAILED (oom-killed): Container iris of pod iris-1 was OOMKilled (memory limit 40Mi), exit code 137.",
        "  Killed",
        "  fix: Raise the limit.",
        "",
        "replay: skipped, the rollout failed",
        "",
        "production settings: nothing they caused here stands out (no OOM kill, no early readiness failures, no throttling seen)",
        "",
      ].join("\n"),
    );
    expect(exitCodeOf(report)).toBe(1);
  });

  it("without requests to replay, a complete rollout exits 0; a replay the model stopped answering exits 1", () => {
    expect(exitCodeOf({ rollout: complete, findings: [] })).toBe(0);
    expect(exitCodeOf({ rollout: complete, findings: [], replaySkipped: "the model stopped answering: connection refused" })).toBe(1);
  });
});
