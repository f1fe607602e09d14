/**
 * The dev loop as a stream of events, derived by comparing two successive state snapshots: the
 * engine dispatches actions and never needs to know that a printer exists. docs/events.md
 * documents the vocabulary; fields are only ever added, never renamed or repurposed.
 */
import type { DiagnosticsSample } from "../../engine/diagnostics.js";
import { outageReason, type DevState, type PruneWhere, type Iteration, type ProblemReport, type Route, type Stage, type StageState, type StepReport, type TestOutcome } from "../../core/dev/state.js";

export type DevEvent =
  | { type: "cluster.progress"; detail: string }
  | { type: "cluster.ready"; provider: string; name: string; context: string; deliveryPath: string; deliveryReason: string }
  | { type: "endpoint"; url: string; reason?: string | undefined }
  | { type: "health"; engine: "ok" | "down"; cluster: "ok" | "down" | "deleted"; reason?: string | undefined }
  | { type: "cluster.retry"; attempt: number; delayMs: number; message: string }
  | { type: "watch.failed"; message: string; watching: "polling" | "stopped" }
  | { type: "watch.restored"; watching: "events" | "polling" }
  | { type: "watch.paused" }
  | { type: "watch.resumed" }
  | { type: "hold"; reason: string }
  | { type: "iteration.started"; iteration: number; trigger: string; stages: Stage[]; route?: Route | undefined }
  /** Live update gave up on this change (the reason); the iteration rebuilds with these stages. */
  | { type: "iteration.rerouted"; iteration: number; reason: string; stages: Stage[] }
  /** What the pods run that the serving image lacks (live update), after each change of it. */
  | { type: "live"; ahead: string[]; image?: string | undefined; off?: string | undefined }
  | { type: "stage.started"; iteration: number; stage: Stage }
  | { type: "stage.progress"; iteration: number; stage: Stage; detail?: string | undefined; current?: number | undefined; total?: number | undefined; step?: StepEvent | undefined }
  | { type: "stage.done"; iteration: number; stage: Stage; ms: number; detail?: string | undefined }
  | { type: "stage.failed"; iteration: number; stage: Stage; ms: number; message: string }
  | { type: "serving"; image: string }
  /** Old images of this model removed from the engine after a verified iteration; totals for the session. */
  | { type: "images.pruned"; where: PruneWhere; removed: number; reclaimedBytes: number; totalRemoved: number; totalReclaimedBytes: number }
  | { type: "images.registryPruningOff"; reason: string }
  | { type: "tests.result"; iteration: number; passed: number; failed: number; tests: TestOutcome[]; changes: string[] }
  | { type: "problem"; stage: ProblemReport["stage"]; message: string; details: string[]; hint?: string | undefined }
  | {
      type: "iteration.finished";
      iteration: number;
      trigger: string;
      route?: Route | undefined;
      result: "success" | "failed" | "cancelled";
      totalMs: number;
      stageMs: Partial<Record<Stage, number>>;
      image?: string | undefined;
      deliveryPath?: string | undefined;
      testsPassed: number;
      testsFailed: number;
    }
  | { type: "log"; pod: string; container: string; time: string; text: string; kind: "log" | "notice" }
  | { type: "log.dropped"; count: number }
  /** Only with MLKUBE_DIAGNOSTICS_MS (engine/diagnostics.ts): the process's memory, live handles and listeners. */
  | ({ type: "diagnostics" } & DiagnosticsSample);

/** A build step that finished (BuildKit): its name, whether it came from the cache, its duration and bytes. */
export interface StepEvent {
  name: string;
  cached: boolean;
  status: "done" | "cached" | "failed";
  ms?: number | undefined;
  bytes?: number | undefined;
}

/** What changed between two snapshots, in the order it happened within one iteration. */
export function deriveEvents(previous: DevState, next: DevState): DevEvent[] {
  const events: DevEvent[] = [];
  const cluster = next.cluster;
  if (cluster.status === "starting" && cluster.detail && cluster.detail !== previous.cluster.detail) {
    events.push({ type: "cluster.progress", detail: cluster.detail });
  }
  if (cluster.retry && cluster.retry !== previous.cluster.retry) {
    events.push({ type: "cluster.retry", attempt: cluster.retry.attempt, delayMs: cluster.retry.delayMs, message: next.problem?.message ?? "the cluster could not be started" });
  }
  const ready = cluster.status === "ready" ? cluster.info : undefined;
  // A new endpoint replaces the info object too; only a (re)connected cluster is news here.
  if (ready && (previous.cluster.status !== "ready" || previous.cluster.info?.context !== ready.context)) {
    events.push({ type: "cluster.ready", provider: ready.provider, name: ready.name, context: ready.context, deliveryPath: ready.deliveryPath, deliveryReason: ready.deliveryReason });
  }
  for (const where of ["engine", "registry"] as const) {
    const [was, now] = [previous.pruned[where], next.pruned[where]];
    if (now.images === was.images && now.reclaimedBytes === was.reclaimedBytes) continue;
    events.push({ type: "images.pruned", where, removed: now.images - was.images, reclaimedBytes: now.reclaimedBytes - was.reclaimedBytes, totalRemoved: now.images, totalReclaimedBytes: now.reclaimedBytes });
  }
  if (next.pruned.registryOff && next.pruned.registryOff !== previous.pruned.registryOff) events.push({ type: "images.registryPruningOff", reason: next.pruned.registryOff });
  const url = cluster.info?.endpoint;
  if (url && url !== previous.cluster.info?.endpoint) events.push({ type: "endpoint", url, ...(cluster.info?.endpointReason ? { reason: cluster.info.endpointReason } : {}) });
  if (next.health.engine.status !== previous.health.engine.status || next.health.cluster.status !== previous.health.cluster.status) {
    events.push({ type: "health", engine: next.health.engine.status, cluster: next.health.cluster.status, reason: outageReason(next.health) });
  }
  // Each failure is news, also a watcher that fails again before it was ever back.
  const watchProblem = next.problem?.stage === "watch" && next.problem !== previous.problem ? next.problem : undefined;
  if (next.watching !== "events" && (next.watching !== previous.watching || watchProblem)) {
    events.push({ type: "watch.failed", message: watchProblem?.message ?? "file watching failed", watching: next.watching });
  }
  if (previous.watching === "stopped" && next.watching !== "stopped") events.push({ type: "watch.restored", watching: next.watching });
  if (next.paused !== previous.paused) events.push({ type: next.paused ? "watch.paused" : "watch.resumed" });

  const current = next.current;
  const before = previous.current?.id === current?.id ? previous.current : undefined;
  // An iteration that finished and was replaced between two snapshots still gets its summary first.
  const finished = next.history.filter((entry) => !previous.history.some((old) => old.id === entry.id));
  const finishedEarlier = finished.filter((entry) => entry.id !== current?.id);
  events.push(...finishedEarlier.map(finishedEvent));

  // Results belong next to the stage that produced them: the tests before the test stage's
  // verdict, the serving image after the rollout.
  const tests = current?.tests && current.tests !== before?.tests ? testsEvent(current, current.tests) : undefined;
  let serving: DevEvent | undefined = next.serving && next.serving !== previous.serving ? { type: "serving", image: next.serving } : undefined;
  let testsShown = false;
  if (current) {
    if (!before) events.push({ type: "iteration.started", iteration: current.id, trigger: current.trigger, stages: current.stages.map((stage) => stage.stage), route: current.route });
    else if (current.route !== before.route && current.route?.kind === "rebuild" && before.route?.kind === "sync") {
      const afterSync = current.stages.slice(current.stages.findIndex((stage) => stage.stage === "sync") + 1);
      events.push({ type: "iteration.rerouted", iteration: current.id, reason: current.route.reason, stages: afterSync.map((stage) => stage.stage) });
    }
    for (const stage of current.stages) {
      const { opening, closing } = stageEvents(current, before?.stages.find((old) => old.stage === stage.stage), stage);
      events.push(...opening);
      if (stage.stage === "test" && tests) {
        events.push(tests);
        testsShown = true;
      }
      events.push(...closing);
      if (stage.stage === "rollout" && closing.length > 0 && serving) {
        events.push(serving);
        serving = undefined;
      }
    }
  }
  if (serving) events.push(serving);
  if (tests && !testsShown) events.push(tests);
  if (next.problem && next.problem !== previous.problem) {
    const problem = next.problem;
    events.push({ type: "problem", stage: problem.stage, message: problem.message, details: problem.details, hint: problem.hint });
  }
  if (next.live.ahead.join("\n") !== previous.live.ahead.join("\n") || next.live.off !== previous.live.off) {
    events.push({ type: "live", ahead: next.live.ahead, image: next.serving, off: next.live.off });
  }
  events.push(...finished.filter((entry) => entry.id === current?.id).map(finishedEvent));
  return events;
}

/** What one stage did: its start and progress, then its verdict. */
function stageEvents(iteration: Iteration, before: StageState | undefined, stage: StageState): { opening: DevEvent[]; closing: DevEvent[] } {
  const id = iteration.id;
  const opening: DevEvent[] = [];
  const closing: DevEvent[] = [];
  const wasStarted = before?.status === "running" || before?.status === "done" || before?.status === "failed";
  const ms = stage.finishedAt !== undefined && stage.startedAt !== undefined ? stage.finishedAt - stage.startedAt : 0;
  // A stage can start and finish between two snapshots; it still reads as started, then done.
  if (!wasStarted && stage.status !== "pending" && stage.status !== "skipped") opening.push({ type: "stage.started", iteration: id, stage: stage.stage });
  // Each step once, when it finished: several can finish between two snapshots.
  for (const step of stage.steps ?? []) {
    const earlier = before?.steps?.find((known) => known.id === step.id);
    if (step.status !== "running" && earlier?.status !== step.status) opening.push({ type: "stage.progress", iteration: id, stage: stage.stage, step: stepEvent(step) });
  }
  if (stage.status === "running" && (stage.detail !== before?.detail || stage.progress !== before?.progress) && (stage.detail || stage.progress)) {
    opening.push({ type: "stage.progress", iteration: id, stage: stage.stage, detail: stage.detail, current: stage.progress?.current, total: stage.progress?.total });
  }
  if (stage.status === "done" && before?.status !== "done") closing.push({ type: "stage.done", iteration: id, stage: stage.stage, ms, detail: stage.detail });
  if (stage.status === "failed" && before?.status !== "failed") {
    closing.push({ type: "stage.failed", iteration: id, stage: stage.stage, ms, message: iteration.problem?.message ?? "failed" });
  }
  return { opening, closing };
}

function stepEvent(step: StepReport): StepEvent {
  const status = step.status === "running" ? "done" : step.status;
  return { name: step.name, cached: status === "cached", status, ms: step.ms, bytes: step.bytes };
}

function testsEvent(iteration: Iteration, tests: TestOutcome[]): DevEvent {
  const failed = tests.filter((test) => !test.passed).length;
  return { type: "tests.result", iteration: iteration.id, passed: tests.length - failed, failed, tests, changes: iteration.testChanges ?? [] };
}

function finishedEvent(entry: DevState["history"][number]): DevEvent {
  return {
    type: "iteration.finished",
    iteration: entry.id,
    trigger: entry.trigger,
    route: entry.route,
    result: entry.result,
    totalMs: entry.totalMs,
    stageMs: entry.stageMs,
    image: entry.image,
    deliveryPath: entry.deliveryPath,
    testsPassed: entry.testsPassed,
    testsFailed: entry.testsFailed,
  };
}
