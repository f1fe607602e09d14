/**
 * Runs the effects of the dev loop: asks the planner what to do whenever the state changes,
 * runs one iteration at a time through the Pipeline, stamps every action with the iteration id
 * (the reducer ignores stale ones), and aborts a build when newer changes arrive.
 */
import { nextStep, type PlannerOptions } from "../core/dev/planner.js";
import {
  imageToDeploy,
  type DeliveredImage,
  type DevAction,
  type DevState,
  type LocalImage,
  type ProblemReport,
  type Stage,
  type StepReport,
  type TestOutcome,
} from "../core/dev/state.js";
import type { SmokeResult } from "../core/smoke-results.js";
import { connectionFailure, lostConnection } from "../adapters/connection-errors.js";
import { isAbortError, isUserError, LiveUnavailable } from "../errors.js";
import type { PodRun } from "../core/live/drift.js";
import type { Store } from "./store.js";

export interface StageContext {
  iteration: number;
  signal: AbortSignal;
  /** `step`: a build step that began or finished (BuildKit), kept in the stage's state and told as an event. */
  progress(detail: string, progress?: { current: number; total: number }, step?: StepReport): void;
}

/** The ports the runner drives. The dev command wires them to Docker, the cluster and HTTP; tests use fakes. */
export interface Pipeline {
  /** Reload mlkube.yaml; throws a UserError (the previous configuration stays in force). */
  reloadConfig(context: StageContext): Promise<void>;
  /** `image`: what delivery moves; `reference` is its name as the views show it. */
  build(context: StageContext): Promise<{ reference: string; image: LocalImage; cached: boolean; detail: string }>;
  /** `runAsUser`: the delivered image's USER when numeric, read here where the image is at hand. */
  deliver(context: StageContext, image: LocalImage): Promise<{ path: string; podImage: string; runAsUser: number | undefined; detail: string }>;
  apply(context: StageContext, image: DeliveredImage): Promise<{ detail: string }>;
  /** `image`: the one apply deployed (the rollout may apply it again, with a detected readiness probe). */
  rollout(context: StageContext, image: DeliveredImage): Promise<{ detail: string }>;
  /**
   * `results`: the answers, which the next run is compared with (`changes`). `detail` says where
   * tests came from when mlkube.yaml has none (generated from the server's description).
   */
  test(context: StageContext): Promise<{ tests: TestOutcome[]; changes: string[]; results: SmokeResult[]; detail?: string | undefined }>;
  /**
   * Live update: copies PATHS (relative to the model directory; deleted ones are deleted) into the
   * running pods and restarts their servers. Throws LiveUnavailable when this change must be rebuilt.
   */
  sync(context: StageContext, paths: readonly string[]): Promise<{ files: string[]; pods: PodRun[]; detail: string }>;
}

/** What a rebuild runs after live update gave up on a change. */
const REBUILD_STAGES: Stage[] = ["build", "deliver", "apply", "rollout"];

export interface RunnerHandle {
  /** Resolves when the running iteration (if any) has finished. */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

export function startRunner(store: Store<DevState, DevAction>, pipeline: Pipeline, options: PlannerOptions & { now?: () => number }): RunnerHandle {
  const now = options.now ?? (() => Date.now());
  let running: { id: number; controller: AbortController; done: Promise<void> } | undefined;
  let stopped = false;

  const plan = () => {
    if (stopped) return;
    const state = store.getState();
    const step = nextStep(state, options);
    if (step.kind === "cancel" && running?.id === step.id) {
      running.controller.abort();
      return;
    }
    if (step.kind !== "start" || running) return;
    const id = state.nextId;
    const controller = new AbortController();
    store.dispatch({ type: "iteration/started", id, changes: step.changes, stages: step.stages, route: step.route, at: now() });
    const done = runIteration(id, step.stages, step.changes.paths, controller.signal).finally(() => {
      running = undefined;
      plan();
    });
    running = { id, controller, done };
  };

  const runIteration = async (id: number, planned: Stage[], paths: readonly string[], signal: AbortSignal): Promise<void> => {
    const stages = [...planned];
    let result: "success" | "failed" | "cancelled" = "success";
    for (let index = 0; index < stages.length; index++) {
      const stage = stages[index] as Stage;
      const context: StageContext = {
        iteration: id,
        signal,
        progress: (detail, progress, step) => store.dispatch({ type: "stage/progress", id, stage, detail, progress, step }),
      };
      store.dispatch({ type: "stage/started", id, stage, at: now() });
      try {
        if (signal.aborted) throw Object.assign(new Error("aborted"), { name: "AbortError" });
        const detail = await runStage(stage, context);
        store.dispatch({ type: "stage/done", id, stage, at: now(), detail });
      } catch (error) {
        if (error instanceof LiveUnavailable && !signal.aborted) {
          // The same iteration goes on as a rebuild: build … rollout, then the tests it had planned.
          const remaining = [...REBUILD_STAGES, ...stages.slice(index + 1).filter((next) => !REBUILD_STAGES.includes(next))];
          stages.splice(index + 1, stages.length, ...remaining);
          store.dispatch({
            type: "iteration/rerouted",
            id,
            reason: error.reason,
            stages: remaining,
            at: now(),
            liveOff: error.forSession ? error.reason : undefined,
          });
          continue;
        }
        if (isAbortError(error) || signal.aborted) {
          result = "cancelled";
        } else {
          result = "failed";
          store.dispatch({ type: "stage/failed", id, stage, at: now(), problem: problemFrom(stage, error) });
        }
        break;
      }
    }
    store.dispatch({ type: "iteration/finished", id, at: now(), result });

    async function runStage(stage: Stage, context: StageContext): Promise<string | undefined> {
      switch (stage) {
        case "config":
          await pipeline.reloadConfig(context);
          return "mlkube.yaml reloaded";
        case "sync": {
          const synced = await pipeline.sync(context, paths);
          store.dispatch({ type: "live/synced", id, files: synced.files, pods: synced.pods });
          return synced.detail;
        }
        case "build": {
          const built = await pipeline.build(context);
          store.dispatch({ type: "build/result", id, image: built.reference, cached: built.cached, built: built.image });
          return built.detail;
        }
        case "deliver": {
          const built = store.getState().current?.built;
          if (!built) throw new Error("deliver ran without a build");
          const delivered = await pipeline.deliver(context, built);
          store.dispatch({ type: "deliver/result", id, path: delivered.path, podImage: delivered.podImage, runAsUser: delivered.runAsUser });
          return delivered.detail;
        }
        case "apply": {
          const image = imageToDeploy(store.getState());
          if (!image) throw new Error("apply ran before any image was delivered");
          return (await pipeline.apply(context, image)).detail;
        }
        case "rollout": {
          const image = imageToDeploy(store.getState());
          if (!image) throw new Error("rollout ran before any image was delivered");
          const rolled = await pipeline.rollout(context, image);
          store.dispatch({ type: "rollout/serving", id, image: image.podImage, runAsUser: image.runAsUser });
          return rolled.detail;
        }
        case "test": {
          const { tests, changes, results, detail } = await pipeline.test(context);
          store.dispatch({ type: "tests/result", id, tests, changes, results });
          const failed = tests.filter((test) => !test.passed);
          if (failed.length > 0) {
            throw Object.assign(new Error(`${failed.length} of ${tests.length} smoke test(s) failed: ${failed.map((test) => test.name).join(", ")}`), {
              smokeTests: true,
            });
          }
          if (tests.length === 0) return detail ?? "no smoke tests configured";
          return detail ? `${tests.length} passed; ${detail}` : `${tests.length} passed`;
        }
      }
    }
  };

  const unsubscribe = store.subscribe(plan);
  queueMicrotask(plan);
  return {
    idle: async () => {
      while (running) await running.done;
    },
    stop: async () => {
      stopped = true;
      unsubscribe();
      running?.controller.abort();
      await running?.done;
    },
  };
}

/** A user error shows its message and fix; anything else is a bug in mlkube, said plainly. */
export function problemFrom(stage: Stage, error: unknown): ProblemReport {
  // A lost connection (the engine stopped, the cluster went away), worded where it happened or not:
  // the loop holds changes until both answer and then runs this iteration again.
  const lostFlag = connectionFailure(error) ? { lostConnection: true } : {};
  if (isUserError(error)) return { stage, message: error.message, details: [...error.details], hint: error.hint, ...lostFlag };
  const lost = lostConnection(error);
  if (lost) {
    return {
      stage,
      message: lost.message,
      details: [],
      hint: "Check the Docker engine ('docker info') and the cluster ('kubectl get nodes'). mlkube holds your changes while either is away and runs this iteration again when both answer.",
      lostConnection: true,
    };
  }
  if ((error as { smokeTests?: boolean }).smokeTests) return { stage, message: (error as Error).message, details: [] };
  const stack = error instanceof Error ? (error.stack ?? error.message) : String(error);
  return {
    stage,
    message: `mlkube hit an internal error during ${stage} (a bug in mlkube, not in your model).`,
    details: stack.split("\n").slice(0, 6),
    hint: "Please report it with the lines above. The loop keeps watching.",
  };
}
