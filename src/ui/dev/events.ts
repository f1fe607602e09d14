/**
 * The dev loop as a stream of events, one dispatched action at a time (engine/store.ts publishes
 * each): the engine dispatches actions and never needs to know that a printer exists.
 * docs/events.md documents the vocabulary; fields are only ever added, never renamed or repurposed.
 */
import type { DiagnosticsSample } from "../../engine/diagnostics.js";
import {
  outageReason,
  type DevAction,
  type DevState,
  type PruneWhere,
  type Iteration,
  type ProblemReport,
  type Route,
  type Stage,
  type StageState,
  type StepReport,
  type TestOutcome,
} from "../../core/dev/state.js";

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
  | {
      type: "stage.progress";
      iteration: number;
      stage: Stage;
      detail?: string | undefined;
      current?: number | undefined;
      total?: number | undefined;
      step?: StepEvent | undefined;
    }
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

/**
 * The events one dispatched action makes, in dispatch order: what the action says, with what it
 * needs from the state just before and after it (a stage's duration, an iteration's summary, the
 * totals). Every action is seen, so nothing that happens within one burst of dispatches is lost.
 */
export function eventsOf(action: DevAction, before: DevState, after: DevState): DevEvent[] {
  const events = actionEvents(action, before, after);
  // News any action can bring: an outage or its end, a new problem, what the pods run ahead of the image.
  if (after.health.engine.status !== before.health.engine.status || after.health.cluster.status !== before.health.cluster.status) {
    events.push({ type: "health", engine: after.health.engine.status, cluster: after.health.cluster.status, reason: outageReason(after.health) });
  }
  if (after.problem && after.problem !== before.problem) {
    const problem = after.problem;
    events.push({ type: "problem", stage: problem.stage, message: problem.message, details: problem.details, hint: problem.hint });
  }
  if (after.live.ahead.join("\n") !== before.live.ahead.join("\n") || after.live.off !== before.live.off) {
    events.push({ type: "live", ahead: after.live.ahead, image: after.serving, off: after.live.off });
  }
  return events;
}

function actionEvents(action: DevAction, before: DevState, after: DevState): DevEvent[] {
  const current = after.current;
  switch (action.type) {
    case "cluster/progress":
      return after.cluster.status === "starting" ? [{ type: "cluster.progress", detail: action.detail }] : [];
    case "cluster/ready": {
      const info = action.info;
      // A reconnect to the same context is no news; its endpoint may be.
      const ready: DevEvent[] =
        before.cluster.status !== "ready" || before.cluster.info?.context !== info.context
          ? [
              {
                type: "cluster.ready",
                provider: info.provider,
                name: info.name,
                context: info.context,
                deliveryPath: info.deliveryPath,
                deliveryReason: info.deliveryReason,
              },
            ]
          : [];
      return [...ready, ...endpointEvent(before, after)];
    }
    case "endpoint/changed":
      return endpointEvent(before, after);
    case "cluster/retry":
      return [{ type: "cluster.retry", attempt: action.attempt, delayMs: action.delayMs, message: action.problem.message }];
    case "watch/failed":
      return [{ type: "watch.failed", message: action.problem.message, watching: action.polling ? "polling" : "stopped" }];
    case "watch/restored":
      return [{ type: "watch.restored", watching: action.watching }];
    case "key/pause":
      return [{ type: after.paused ? "watch.paused" : "watch.resumed" }];
    case "iteration/started":
      return current
        ? [
            {
              type: "iteration.started",
              iteration: current.id,
              trigger: current.trigger,
              stages: current.stages.map((stage) => stage.stage),
              route: current.route,
            },
          ]
        : [];
    case "iteration/rerouted":
      return [{ type: "iteration.rerouted", iteration: action.id, reason: action.reason, stages: action.stages }];
    case "stage/started":
      return [{ type: "stage.started", iteration: action.id, stage: action.stage }];
    case "stage/progress": {
      const events: DevEvent[] = [];
      // A build step is news once it finished; the running detail is news while the stage runs.
      if (action.step && action.step.status !== "running")
        events.push({ type: "stage.progress", iteration: action.id, stage: action.stage, step: stepEvent(action.step) });
      const running = current?.stages.find((stage) => stage.stage === action.stage)?.status === "running";
      if (running && (action.detail || action.progress)) {
        events.push({
          type: "stage.progress",
          iteration: action.id,
          stage: action.stage,
          detail: action.detail,
          current: action.progress?.current,
          total: action.progress?.total,
        });
      }
      return events;
    }
    case "stage/done":
      return [
        {
          type: "stage.done",
          iteration: action.id,
          stage: action.stage,
          ms: stageMs(after, action.stage),
          detail: action.detail ?? stageOf(after, action.stage)?.detail,
        },
      ];
    case "stage/failed":
      return [{ type: "stage.failed", iteration: action.id, stage: action.stage, ms: stageMs(after, action.stage), message: action.problem.message }];
    case "rollout/serving":
      return after.serving !== before.serving && after.serving ? [{ type: "serving", image: after.serving }] : [];
    case "tests/result":
      return current ? [testsEvent(current, action.tests)] : [];
    case "iteration/finished": {
      const entry = after.history.find((row) => row.id === action.id);
      return entry ? [finishedEvent(entry)] : [];
    }
    case "images/pruned": {
      const total = after.pruned[action.where];
      return [
        {
          type: "images.pruned",
          where: action.where,
          removed: action.removed,
          reclaimedBytes: action.reclaimedBytes,
          totalRemoved: total.images,
          totalReclaimedBytes: total.reclaimedBytes,
        },
      ];
    }
    case "images/registryPruningOff":
      return [{ type: "images.registryPruningOff", reason: action.reason }];
    default:
      // Changes queued, keys, results the stage's own events report, quitting: no event of their own.
      return [];
  }
}

function endpointEvent(before: DevState, after: DevState): DevEvent[] {
  const info = after.cluster.info;
  const url = info?.endpoint;
  if (!url || url === before.cluster.info?.endpoint) return [];
  return [{ type: "endpoint", url, ...(info.endpointReason ? { reason: info.endpointReason } : {}) }];
}

function stageOf(state: DevState, stage: Stage): StageState | undefined {
  return state.current?.stages.find((entry) => entry.stage === stage);
}

function stageMs(state: DevState, stage: Stage): number {
  const entry = stageOf(state, stage);
  return entry?.finishedAt !== undefined && entry.startedAt !== undefined ? entry.finishedAt - entry.startedAt : 0;
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
