/**
 * What the production settings caused when the manifests ran locally: an OOM kill under the
 * memory limit, a readiness probe that fired before the model had loaded, latency that a CPU limit
 * explains. Pure: the pods' history and the replay come in as snapshots, findings go out, each
 * with its evidence and the setting to change.
 */
import type { RolloutVerdict } from "../core/rollout.js";

type FindingKind = "oom-killed" | "readiness-too-early" | "cpu-throttling";

export interface Finding {
  kind: FindingKind;
  message: string;
  evidence: string[];
  hint: string;
}

/** The model container's production settings that the findings are about. */
export interface ModelSettings {
  container: string;
  memoryLimit?: string | undefined;
  /** In cores. */
  cpuLimit?: number | undefined;
  cpuLimitText?: string | undefined;
  readiness?: { initialDelaySeconds: number; periodSeconds: number; failureThreshold: number } | undefined;
}

export interface PodHistory {
  name: string;
  /** When the model container last started, in ms since the epoch. */
  startedAtMs?: number | undefined;
  /** When the pod last became Ready, in ms since the epoch. */
  readyAtMs?: number | undefined;
  /** Readiness probe failures of the model container (Unhealthy events), with their counts. */
  readinessFailures: { message: string; count: number }[];
  containers: { name: string; restartCount: number; lastTerminated?: { reason?: string | undefined; exitCode?: number | undefined } | undefined }[];
}

/** One replayed request as the throttling check needs it. */
interface TimedRequest {
  name: string;
  latencyMs: number | undefined;
  recordedLatencyMs?: number | undefined;
}

/** A rollout that failed because of a production setting, as a finding (the others explain themselves). */
export function findingFromRollout(verdict: Extract<RolloutVerdict, { state: "failed" }>, settings: ModelSettings): Finding | undefined {
  if (verdict.kind === "oom-killed") {
    return {
      kind: "oom-killed",
      message: `OOMKilled under the production memory limit${settings.memoryLimit ? ` (${settings.memoryLimit})` : ""}: the model needs more memory than production allows it, before it even served.`,
      evidence: [verdict.message],
      hint: `Raise resources.limits.memory of container ${settings.container} in the production manifest (and re-run reproduce to confirm), or make the model load in less memory.`,
    };
  }
  if (verdict.kind === "readiness" && settings.readiness) {
    return {
      kind: "readiness-too-early",
      message: `The readiness probe never passed (initialDelaySeconds ${settings.readiness.initialDelaySeconds}, periodSeconds ${settings.readiness.periodSeconds}).`,
      evidence: verdict.evidence,
      hint: "Check the probe's path and port against the server; a model that loads slowly needs a larger initialDelaySeconds or a startupProbe.",
    };
  }
  return undefined;
}

/** OOM kills seen on pods that did roll out: under load (the replay) rather than at start. */
export function oomFindings(pods: readonly PodHistory[], settings: ModelSettings, during: string): Finding[] {
  const killed = pods.flatMap((pod) =>
    pod.containers.filter((container) => container.lastTerminated?.reason === "OOMKilled").map((container) => ({ pod, container })),
  );
  if (killed.length === 0) return [];
  return [
    {
      kind: "oom-killed",
      message: `OOMKilled ${during} under the production memory limit${settings.memoryLimit ? ` (${settings.memoryLimit})` : ""}.`,
      evidence: killed.map(
        ({ pod, container }) =>
          `pod ${pod.name}, container ${container.name}: OOMKilled, exit code ${container.lastTerminated?.exitCode ?? 137}, restarted ${container.restartCount} time(s)`,
      ),
      hint: `Raise resources.limits.memory of container ${settings.container} in the production manifest, or lower the model's peak memory (batch size, lazy loading).`,
    },
  ];
}

/**
 * Readiness failures before a pod became ready mean the probe started checking before the model
 * answered: in production every such pod is kept out of the Service (or, with a liveness probe
 * alike, restarted) while it loads.
 */
export function readinessFinding(pods: readonly PodHistory[], settings: ModelSettings): Finding | undefined {
  const early = pods.filter((pod) => pod.readinessFailures.length > 0 && pod.readyAtMs !== undefined);
  if (early.length === 0) return undefined;
  const loadSeconds = Math.max(
    ...early.map((pod) => (pod.startedAtMs !== undefined && pod.readyAtMs !== undefined ? (pod.readyAtMs - pod.startedAtMs) / 1000 : 0)),
  );
  const delay = settings.readiness?.initialDelaySeconds ?? 0;
  const failures = early.reduce((sum, pod) => sum + pod.readinessFailures.reduce((count, failure) => count + failure.count, 0), 0);
  const loaded = loadSeconds > 0 ? `; it answered after about ${Math.ceil(loadSeconds)} s` : "";
  return {
    kind: "readiness-too-early",
    message: `The readiness probe fired before the model had loaded: ${failures} failed probe(s) before ${early.length === 1 ? "the pod" : `${early.length} pods`} became ready (initialDelaySeconds ${delay}${loaded}).`,
    evidence: early.flatMap((pod) =>
      pod.readinessFailures.slice(-2).map((failure) => `pod ${pod.name}: ${failure.message}${failure.count > 1 ? ` (x${failure.count})` : ""}`),
    ),
    hint: `Raise readinessProbe.initialDelaySeconds of container ${settings.container}${loadSeconds > delay ? ` to at least ${Math.ceil(loadSeconds)}` : ""}, or add a startupProbe that allows for the model's load time.`,
  };
}

/** Slower than recorded: more than twice the recorded latency and by more than this. */
const SLOWER_BY_MS = 50;
/** The CFS period the kernel enforces CPU limits in: a throttled request waits for the next one. */
const CFS_PERIOD_MS = 100;

/**
 * Latency a CPU limit explains: requests over twice as slow as recorded in production, or, with
 * no recording, requests that waited longer than a whole CFS period under a limit below one core.
 */
export function throttlingFinding(requests: readonly TimedRequest[], settings: ModelSettings): Finding | undefined {
  if (settings.cpuLimit === undefined) return undefined;
  const limit = settings.cpuLimitText ?? String(settings.cpuLimit);
  const slower = requests.filter(
    (request) =>
      request.latencyMs !== undefined &&
      request.recordedLatencyMs !== undefined &&
      request.latencyMs > 2 * request.recordedLatencyMs &&
      request.latencyMs - request.recordedLatencyMs > SLOWER_BY_MS,
  );
  const hint = `Re-run with a higher resources.limits.cpu for container ${settings.container} in a copy of the manifest: if the latency drops, the limit is the cause (a limit below the model's CPU need stalls each request in ${CFS_PERIOD_MS} ms periods).`;
  if (slower.length > 0) {
    return {
      kind: "cpu-throttling",
      message: `CPU throttling is likely: ${slower.length} of ${requests.length} request(s) took more than twice their recorded latency under the production CPU limit (${limit}).`,
      evidence: slower.map(
        (request) => `${request.name}: ${Math.round(request.latencyMs ?? 0)} ms here, ${Math.round(request.recordedLatencyMs ?? 0)} ms recorded`,
      ),
      hint,
    };
  }
  const stalled =
    settings.cpuLimit < 1 ? requests.filter((request) => request.recordedLatencyMs === undefined && (request.latencyMs ?? 0) >= CFS_PERIOD_MS) : [];
  if (stalled.length === 0) return undefined;
  return {
    kind: "cpu-throttling",
    message: `CPU throttling is possible: ${stalled.length} of ${requests.length} request(s) took ${CFS_PERIOD_MS} ms or more under a CPU limit of ${limit} (at most ${Math.round(settings.cpuLimit * CFS_PERIOD_MS)} ms of CPU per ${CFS_PERIOD_MS} ms).`,
    evidence: stalled.map((request) => `${request.name}: ${Math.round(request.latencyMs ?? 0)} ms`),
    hint: `${hint} Recorded latencies (response.latencyMs in the requests file) make this check exact.`,
  };
}
