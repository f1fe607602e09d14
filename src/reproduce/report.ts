/**
 * The report `mlkube reproduce` ends with: how the rollout went, each replayed request against its
 * recording (status, body difference, latency), and what the production settings caused. Pure,
 * so what a user reads is tested line by line; `--json` prints the same report as one object.
 */
import { describeMismatch } from "../core/expectations.js";
import type { Finding } from "./findings.js";
import type { RolloutVerdict } from "../core/rollout.js";
import type { SmokeCase } from "../core/smoke-cases.js";
import type { SmokeResult } from "../core/smoke-results.js";

interface ReplayVerdict {
  name: string;
  method: string;
  path: string;
  /** The response matched the recording (or, without a recorded response, was not a 5xx). */
  same: boolean;
  status: number | undefined;
  latencyMs: number | undefined;
  recordedLatencyMs: number | undefined;
  /** `status: expected 200, got 500`, `json.prediction[0]: expected 0, got 2`, or why nothing came back. */
  differences: string[];
}

type RolloutSummary = Extract<RolloutVerdict, { state: "complete" | "failed" }>;

export interface ReproduceReport {
  rollout: RolloutSummary;
  /** Where the replay reached the model. */
  endpoint?: string | undefined;
  /** Undefined when there was nothing to replay (no --requests). */
  replay?: ReplayVerdict[] | undefined;
  /** Why the replay did not run although requests were given. */
  replaySkipped?: string | undefined;
  findings: Finding[];
}

/** Pairs each result with the case it answers (runSmokeTests keeps their order). */
export function judgeReplay(cases: readonly SmokeCase[], results: readonly SmokeResult[]): ReplayVerdict[] {
  return results.map((result, index) => ({
    name: result.name,
    method: result.method,
    path: result.path,
    same: result.passed,
    status: result.response?.status,
    latencyMs: result.latency?.p50,
    recordedLatencyMs: cases[index]?.recordedLatencyMs,
    differences: result.error !== undefined ? [`no answer: ${result.error}`] : result.failures.map(describeMismatch),
  }));
}

/** 1 when the rollout failed, the replay could not run, or a replayed response differs from its recording, else 0. */
export function exitCodeOf(report: ReproduceReport): number {
  if (report.rollout.state === "failed" || report.replaySkipped !== undefined) return 1;
  return (report.replay ?? []).some((verdict) => !verdict.same) ? 1 : 0;
}

export function formatReport(report: ReproduceReport): string {
  const lines: string[] = [];
  const { rollout } = report;
  if (rollout.state === "complete") {
    lines.push(`rollout: ready ${rollout.ready}/${rollout.desired}${report.endpoint ? `, answering at ${report.endpoint}` : ""}`);
  } else {
    lines.push(`rollout: FAILED (${rollout.kind}): ${rollout.message}`, ...rollout.evidence.map((line) => `  ${line}`), `  fix: ${rollout.hint}`);
  }

  if (report.replaySkipped) lines.push("", `replay: skipped, ${report.replaySkipped}`);
  if (report.replay) {
    const different = report.replay.filter((verdict) => !verdict.same).length;
    lines.push("", `replay: ${report.replay.length} recorded request(s), ${report.replay.length - different} same, ${different} different`);
    const width = Math.max(0, ...report.replay.map((verdict) => verdict.name.length));
    for (const verdict of report.replay) {
      lines.push(`  ${verdict.same ? "same     " : "DIFFERENT"}  ${verdict.name.padEnd(width)}  ${verdict.status ?? "-"}  ${latencyText(verdict)}`);
      for (const difference of verdict.differences) lines.push(`             ${difference}`);
    }
  }

  lines.push(
    "",
    report.findings.length === 0
      ? "production settings: nothing they caused here stands out (no OOM kill, no early readiness failures, no throttling seen)"
      : "production settings caused:",
  );
  for (const finding of report.findings) {
    lines.push(`  ${finding.kind}: ${finding.message}`, ...finding.evidence.map((line) => `    ${line}`), `    fix: ${finding.hint}`);
  }
  return `${lines.join("\n")}\n`;
}

function latencyText(verdict: ReplayVerdict): string {
  if (verdict.latencyMs === undefined) return "-";
  const recorded = verdict.recordedLatencyMs === undefined ? "" : ` (recorded ${Math.round(verdict.recordedLatencyMs)} ms)`;
  return `${Math.round(verdict.latencyMs)} ms${recorded}`;
}
