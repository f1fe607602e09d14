/**
 * The dev loop's one state and the typed actions that change it (Tilt's engine state + reducer).
 * Effects live in src/engine; they dispatch these actions and never mutate state themselves.
 */
import type { ResolvedConfig } from "../../config/load.js";
import type { SmokeResult } from "../smoke-results.js";
import type { PodRun } from "../live/drift.js";
import type { SyncRule } from "../live/sync-rules.js";
import type { DeployTarget } from "../deploy-target.js";
import { EMPTY_CHANGES, addChanges, type ChangeKind, type ChangeSet } from "./changes.js";

/** "sync": live update, the changed files copied into the running pods and the server restarted there. */
export type Stage = "config" | "sync" | "build" | "deliver" | "apply" | "rollout" | "test";

/** Which way an iteration takes the change to the cluster, and why: shown with every iteration. */
export interface Route {
  kind: "sync" | "rebuild";
  /** "model.pkl covered by Dockerfile:9 COPY", "requirements.txt changed", "live update is off (--no-live)". */
  reason: string;
}

/** Live update for this session (issue #11). */
export interface LiveState {
  /** Why live update is off, or undefined while it is on. */
  off?: string | undefined;
  /** The model directory's files (relative paths) the pods run that the serving image lacks. */
  ahead: string[];
  /** The pods the last sync reached, with their restart counts then. */
  pods: PodRun[];
  /** The sync rules in force, and where the build context and the Dockerfile are. */
  sync: LiveSync;
}

export interface LiveSync {
  /** Inferred from the Dockerfile (re-read after each build) or taken from mlkube.yaml `sync:`. */
  rules: SyncRule[];
  /** The build context relative to the model directory, POSIX; "" when they are the same. */
  context: string;
  /** The Dockerfile relative to the build context, when it lies inside it. */
  dockerfile?: string | undefined;
}

export interface StageState {
  stage: Stage;
  status: "pending" | "running" | "done" | "failed" | "skipped";
  startedAt?: number | undefined;
  finishedAt?: number | undefined;
  /** One line: "step 4/9 RUN pip install", "3 layers pushed", "ready 1/2". */
  detail?: string | undefined;
  /** For a progress bar: build steps, bytes pushed, replicas ready. */
  progress?: { current: number; total: number } | undefined;
  /** The build's steps as BuildKit reports them, in the order they began (the build stage only). */
  steps?: StepReport[] | undefined;
}

/** One build step: which, whether it came from the cache, how long it took, how many bytes it moved. */
export interface StepReport {
  /** BuildKit's vertex number, unique within one build. */
  id: number;
  /** `[base 3/5] COPY app.py .`, `exporting to image`. */
  name: string;
  status: "running" | "done" | "cached" | "failed";
  ms?: number | undefined;
  bytes?: number | undefined;
}

export interface TestOutcome {
  name: string;
  passed: boolean;
  latencyMs: number;
  /** Who answered: the new version's pods by name, then "url" (the model's URL, routed to them alone). */
  answeredBy?: string[] | undefined;
  /** On failure: what was expected and what came back, side by side. */
  failures?: { what: string; expected: string; actual: string }[] | undefined;
}

export interface ProblemReport {
  stage: Stage | "cluster" | "watch";
  message: string;
  details: string[];
  hint?: string | undefined;
  /** The stage failed because the Docker engine or the cluster stopped answering: retried once they are back. */
  lostConnection?: boolean | undefined;
}

/** Whether the Docker engine and the cluster answer, watched all session long. */
interface Health {
  engine: { status: "ok" } | { status: "down"; cause: string; since: number };
  cluster: { status: "ok" } | { status: "down"; cause: string; since: number } | { status: "deleted"; since: number };
  /**
   * What happens to a deleted cluster: re-created without asking (--yes), offered (a terminal: the
   * `y` key), or only explained (no terminal and no --yes).
   */
  recreate: "auto" | "offer" | "explain";
}

/** An image the Docker engine built: what delivery moves to the cluster. */
export interface LocalImage {
  repository: string;
  tag: string;
  imageId: string;
}

/** An image on the cluster's side of delivery: what the pods pull, and the USER apply writes into the pod spec. */
export interface DeliveredImage {
  podImage: string;
  /** The image's USER when it is a non-zero number (the pod may then require runAsNonRoot); read from the image delivery moved. */
  runAsUser?: number | undefined;
}

/** A health endpoint the server answers, detected by mlkube for the readiness probe it generates. */
export interface DetectedReadiness {
  path: string;
  protocol: string;
}

export interface Iteration {
  id: number;
  trigger: string;
  changes: ChangeSet;
  route?: Route | undefined;
  stages: StageState[];
  startedAt: number;
  image?: string | undefined;
  cached?: boolean | undefined;
  /** What this iteration's build made, for its delivery. */
  built?: LocalImage | undefined;
  /** What this iteration's delivery moved to the cluster, for its apply (never a build whose delivery failed). */
  delivered?: DeliveredImage | undefined;
  deliveryPath?: string | undefined;
  tests?: TestOutcome[] | undefined;
  /** What changed since the previous iteration's tests: predictions, latency, fixed/broken. */
  testChanges?: string[] | undefined;
  problem?: ProblemReport | undefined;
  result?: "success" | "failed" | "cancelled" | undefined;
  finishedAt?: number | undefined;
}

export interface IterationSummary {
  id: number;
  trigger: string;
  route?: Route | undefined;
  image: string | undefined;
  deliveryPath: string | undefined;
  stageMs: Partial<Record<Stage, number>>;
  /** From the first file event (or key press) to tests verified. */
  totalMs: number;
  result: "success" | "failed" | "cancelled";
  testsPassed: number;
  testsFailed: number;
}

export interface ClusterInfo {
  provider: string;
  name: string;
  context: string;
  deliveryPath: string;
  deliveryReason: string;
  endpoint?: string | undefined;
  /** How the endpoint reaches the model; a tunnel or port-forward closes when mlkube ends. */
  endpointVia?: "mapped-port" | "node-ip" | "tunnel" | "port-forward" | undefined;
  /** Why the endpoint is reached that way (a tunnel: the node IP is out of reach). */
  endpointReason?: string | undefined;
}

export type PruneWhere = "engine" | "registry";
interface PrunedCount {
  images: number;
  reclaimedBytes: number;
}

export interface DevState {
  model: { name: string; dir: string };
  cluster: {
    status: "starting" | "ready" | "failed";
    info?: ClusterInfo | undefined;
    detail?: string | undefined;
    /** After a failed start: which attempt failed and when the next one comes (kept while that one runs). */
    retry?: { attempt: number; delayMs: number } | undefined;
  };
  paused: boolean;
  /** Changes no iteration has taken yet. */
  pending: ChangeSet;
  current: Iteration | undefined;
  history: IterationSummary[];
  /** The image serving now: what the last successful rollout put there. */
  serving: string | undefined;
  /** Old images of this model removed this session (engine/image-pruner.ts), from the engine and from the local registry. */
  pruned: Record<PruneWhere, PrunedCount> & {
    /** Why old images stay in the registry (it refuses deletes), once known. */
    registryOff?: string | undefined;
  };
  /** The USER of the image serving now, as delivery read it: a manifests-only iteration applies that image again. */
  servingRunAsUser?: number | undefined;
  /** The configuration in force: the last valid mlkube.yaml (a reload that fails leaves it). */
  config?: ResolvedConfig | undefined;
  /** What the last apply put on this cluster: rollouts, live update and the tests act on it. */
  deployTarget?: DeployTarget | undefined;
  /** The health endpoint the generated readiness probe asks (detected now or remembered from an earlier session); mlkube.yaml's path wins. */
  detectedReadiness?: DetectedReadiness | undefined;
  /** The last smoke run's answers (one pod's): the next run says what changed since. */
  smokeResults?: SmokeResult[] | undefined;
  /** The last problem shown in the error panel (cleared by the next successful iteration). */
  problem: ProblemReport | undefined;
  nextId: number;
  quitting: boolean;
  health: Health;
  /** How file changes are noticed: kernel events, polling (after the kernel's watch limit), or not at all. */
  watching: "events" | "polling" | "stopped";
  live: LiveState;
}

export type DevAction =
  | { type: "cluster/progress"; detail: string }
  | { type: "cluster/ready"; info: ClusterInfo }
  | { type: "cluster/failed"; problem: ProblemReport }
  | { type: "cluster/recreating" }
  | { type: "cluster/retry"; problem: ProblemReport; attempt: number; delayMs: number }
  | { type: "watch/failed"; problem: ProblemReport; polling: boolean }
  /** A new watcher runs after a failure that stopped watching. */
  | { type: "watch/restored"; watching: "events" | "polling" }
  | { type: "key/recreate" }
  | { type: "health/engine"; up: true; at: number }
  | { type: "health/engine"; up: false; cause: string; at: number }
  | { type: "health/cluster"; state: "ok"; at: number }
  | { type: "health/cluster"; state: "down"; cause: string; at: number }
  | { type: "health/cluster"; state: "deleted"; at: number }
  | { type: "endpoint/changed"; url: string; via?: ClusterInfo["endpointVia"]; reason?: string | undefined }
  /** mlkube.yaml loaded: at start and after each valid change. */
  | { type: "config/loaded"; config: ResolvedConfig }
  /** Apply put the model's objects on the cluster (also the re-apply that writes a detected readiness probe). */
  | { type: "deploy/applied"; target: DeployTarget }
  /** The health endpoint for the generated readiness probe: remembered, detected, or forgotten (undefined) when the server refuses it. */
  | { type: "readiness/detected"; readiness: DetectedReadiness | undefined }
  | { type: "files/changed"; changes: { path: string; kind: ChangeKind }[]; at: number }
  | { type: "key/rebuild"; at: number }
  | { type: "key/test"; at: number }
  | { type: "key/pause" }
  | { type: "iteration/started"; id: number; changes: ChangeSet; stages: Stage[]; route?: Route | undefined; at: number }
  /** Live update could not take this change (no tar in the image, a failed copy): the same iteration goes on with `stages`, a rebuild. */
  | { type: "iteration/rerouted"; id: number; reason: string; stages: Stage[]; at: number; liveOff?: string | undefined }
  | { type: "live/synced"; id: number; files: string[]; pods: PodRun[] }
  /** A pod runs the image without the synced files (it restarted or was replaced): the loop rebuilds. */
  | { type: "live/drifted"; reason: string; at: number }
  /** The sync rules, read again (start-up, a Dockerfile or mlkube.yaml that changed). */
  | { type: "live/rules"; sync: LiveSync }
  | { type: "stage/started"; id: number; stage: Stage; at: number }
  | {
      type: "stage/progress";
      id: number;
      stage: Stage;
      detail?: string | undefined;
      progress?: { current: number; total: number } | undefined;
      step?: StepReport | undefined;
    }
  | { type: "stage/done"; id: number; stage: Stage; at: number; detail?: string | undefined }
  | { type: "stage/failed"; id: number; stage: Stage; at: number; problem: ProblemReport }
  | { type: "build/result"; id: number; image: string; cached: boolean; built?: LocalImage | undefined }
  | { type: "deliver/result"; id: number; path: string; podImage: string; runAsUser?: number | undefined }
  | { type: "rollout/serving"; id: number; image: string; runAsUser?: number | undefined }
  /** `results`: the run's answers, which the next run is compared with. */
  | { type: "tests/result"; id: number; tests: TestOutcome[]; changes: string[]; results?: SmokeResult[] | undefined }
  | { type: "iteration/finished"; id: number; at: number; result: "success" | "failed" | "cancelled" }
  | { type: "images/pruned"; where: PruneWhere; removed: number; reclaimedBytes: number }
  | { type: "images/registryPruningOff"; reason: string }
  | { type: "quit" };

/** History rows kept for the UI and the summary; older ones are dropped. */
const HISTORY_LIMIT = 100;

export function initialState(model: { name: string; dir: string }, recreate: Health["recreate"] = "explain", liveOff?: string): DevState {
  return {
    model,
    cluster: { status: "starting" },
    paused: false,
    // The first iteration: the whole pipeline for the model as it is on disk.
    pending: { ...EMPTY_CHANGES, force: true, paths: [] },
    current: undefined,
    history: [],
    serving: undefined,
    pruned: { engine: { images: 0, reclaimedBytes: 0 }, registry: { images: 0, reclaimedBytes: 0 } },
    problem: undefined,
    nextId: 1,
    quitting: false,
    health: { engine: { status: "ok" }, cluster: { status: "ok" }, recreate },
    watching: "events",
    live: { off: liveOff, ahead: [], pods: [], sync: { rules: [], context: "" } },
  };
}

export function reduce(state: DevState, action: DevAction): DevState {
  switch (action.type) {
    case "cluster/progress":
      // Progress after a failed attempt is the next attempt running: starting again, not failed.
      return { ...state, cluster: { ...state.cluster, status: state.cluster.retry ? "starting" : state.cluster.status, detail: action.detail } };
    case "images/pruned": {
      const count = state.pruned[action.where];
      return {
        ...state,
        pruned: { ...state.pruned, [action.where]: { images: count.images + action.removed, reclaimedBytes: count.reclaimedBytes + action.reclaimedBytes } },
      };
    }
    case "images/registryPruningOff":
      return { ...state, pruned: { ...state.pruned, registryOff: action.reason } };
    case "cluster/ready": {
      const recreated = state.health.cluster.status === "deleted";
      const ready: DevState = {
        ...state,
        cluster: { status: "ready", info: action.info },
        problem: state.problem?.stage === "cluster" ? undefined : state.problem,
      };
      if (!recreated) return ready;
      // A new cluster has nothing of the model: the whole pipeline runs again, and what the loop
      // knew of the old one (where it deployed, what it detected, what the tests answered) goes.
      return {
        ...ready,
        deployTarget: undefined,
        detectedReadiness: undefined,
        smokeResults: undefined,
        health: { ...state.health, cluster: { status: "ok" } },
        pending: { ...state.pending, force: true, firstEventAt: state.pending.firstEventAt ?? Date.now() },
      };
    }
    case "watch/failed":
      return { ...state, watching: action.polling ? "polling" : "stopped", problem: action.problem };
    case "watch/restored":
      return { ...state, watching: action.watching, problem: state.problem?.stage === "watch" ? undefined : state.problem };
    case "key/recreate":
      // Only a deleted cluster is re-created, and only when the user was asked.
      return state.health.cluster.status === "deleted" && state.health.recreate === "offer"
        ? { ...state, health: { ...state.health, recreate: "auto" } }
        : state;
    case "cluster/retry":
      return {
        ...state,
        cluster: { ...state.cluster, status: "failed", detail: undefined, retry: { attempt: action.attempt, delayMs: action.delayMs } },
        problem: action.problem,
      };
    case "cluster/recreating":
      return { ...state, cluster: { status: "starting", detail: "re-creating the deleted cluster" } };
    case "health/engine":
      return action.up
        ? recovered(state, { ...state.health, engine: { status: "ok" } })
        : outage(state, {
            ...state.health,
            engine: { status: "down", cause: action.cause, since: state.health.engine.status === "down" ? state.health.engine.since : action.at },
          });
    case "health/cluster": {
      const before = state.health.cluster;
      if (action.state === "ok") return before.status === "deleted" ? state : recovered(state, { ...state.health, cluster: { status: "ok" } });
      if (action.state === "deleted")
        return outage(state, { ...state.health, cluster: { status: "deleted", since: before.status === "ok" ? action.at : before.since } });
      return outage(state, { ...state.health, cluster: { status: "down", cause: action.cause, since: before.status === "ok" ? action.at : before.since } });
    }
    case "cluster/failed":
      return { ...state, cluster: { ...state.cluster, status: "failed" }, problem: action.problem };
    case "endpoint/changed":
      return state.cluster.info
        ? {
            ...state,
            cluster: { ...state.cluster, info: { ...state.cluster.info, endpoint: action.url, endpointVia: action.via, endpointReason: action.reason } },
          }
        : state;
    case "config/loaded":
      return { ...state, config: action.config };
    case "deploy/applied":
      return { ...state, deployTarget: action.target };
    case "readiness/detected":
      return { ...state, detectedReadiness: action.readiness };
    case "files/changed":
      return { ...state, pending: addChanges(state.pending, action.changes, action.at) };
    case "key/rebuild":
      return { ...state, pending: { ...state.pending, force: true, firstEventAt: state.pending.firstEventAt ?? action.at } };
    case "key/test":
      return { ...state, pending: { ...state.pending, tests: true, firstEventAt: state.pending.firstEventAt ?? action.at } };
    case "key/pause":
      return { ...state, paused: !state.paused };
    case "iteration/started":
      return {
        ...state,
        pending: EMPTY_CHANGES,
        nextId: Math.max(state.nextId, action.id + 1),
        current: {
          id: action.id,
          trigger: describeTrigger(action.changes, action.id),
          changes: action.changes,
          route: action.route,
          stages: action.stages.map((stage) => ({ stage, status: "pending" })),
          startedAt: action.at,
        },
      };
    case "live/rules":
      return { ...state, live: { ...state.live, sync: action.sync } };
    case "live/drifted":
      // Said once: the rebuild it asks for is pending (or running) until the rollout clears `ahead`.
      if (state.live.pods.length === 0) return state;
      return {
        ...state,
        live: { ...state.live, pods: [] },
        pending: { ...state.pending, force: true, rebuildReason: action.reason, firstEventAt: state.pending.firstEventAt ?? action.at },
      };
    case "quit":
      return { ...state, quitting: true };
    default:
      return reduceIteration(state, action);
  }
}

/** Actions about one iteration; stale ones (an older id) are ignored, as the runner may race. */
function reduceIteration(state: DevState, action: Exclude<Extract<DevAction, { id: number }>, { type: "iteration/started" }>): DevState {
  const current = state.current;
  if (!current || current.id !== action.id) return state;
  const withStage = (stage: Stage, change: Partial<StageState>): Iteration => ({
    ...current,
    stages: current.stages.map((entry) => (entry.stage === stage ? { ...entry, ...change } : entry)),
  });
  switch (action.type) {
    case "stage/started":
      return {
        ...state,
        current: withStage(action.stage, { status: "running", startedAt: action.at, detail: undefined, progress: undefined, steps: undefined }),
      };
    case "stage/progress": {
      const steps = current.stages.find((entry) => entry.stage === action.stage)?.steps ?? [];
      const step = action.step;
      const withStep = step
        ? { steps: steps.some((known) => known.id === step.id) ? steps.map((known) => (known.id === step.id ? step : known)) : [...steps, step] }
        : {};
      return { ...state, current: withStage(action.stage, { detail: action.detail, progress: action.progress, ...withStep }) };
    }
    case "stage/done":
      return { ...state, current: withStage(action.stage, { status: "done", finishedAt: action.at, ...(action.detail ? { detail: action.detail } : {}) }) };
    case "stage/failed": {
      const failed = withStage(action.stage, { status: "failed", finishedAt: action.at });
      return {
        ...state,
        problem: action.problem,
        current: {
          ...failed,
          problem: action.problem,
          stages: failed.stages.map((entry) => (entry.status === "pending" ? { ...entry, status: "skipped" } : entry)),
        },
      };
    }
    case "iteration/rerouted": {
      const sync = current.stages.findIndex((entry) => entry.stage === "sync");
      const stages: StageState[] = [
        ...current.stages.slice(0, sync),
        { ...current.stages[sync]!, status: "skipped", finishedAt: action.at, detail: action.reason },
        ...action.stages.map((stage): StageState => ({ stage, status: "pending" })),
      ];
      const live = action.liveOff ? { ...state.live, off: action.liveOff } : state.live;
      return { ...state, live, current: { ...current, stages, route: { kind: "rebuild", reason: action.reason } } };
    }
    case "live/synced":
      return { ...state, live: { ...state.live, ahead: [...new Set([...state.live.ahead, ...action.files])].sort(), pods: action.pods } };
    case "build/result":
      return { ...state, current: { ...current, image: action.image, cached: action.cached, built: action.built } };
    case "deliver/result":
      return {
        ...state,
        current: { ...current, deliveryPath: action.path, image: action.podImage, delivered: { podImage: action.podImage, runAsUser: action.runAsUser } },
      };
    case "rollout/serving":
      // The image now serving was built from the files on disk: nothing is ahead of it any more.
      return { ...state, serving: action.image, servingRunAsUser: action.runAsUser, live: { ...state.live, ahead: [], pods: [] } };
    case "tests/result":
      return { ...state, current: { ...current, tests: action.tests, testChanges: action.changes }, smokeResults: action.results };
    case "iteration/finished": {
      const finished: Iteration = {
        ...current,
        result: action.result,
        finishedAt: action.at,
        stages: current.stages.map((entry) => (entry.status === "pending" || entry.status === "running" ? { ...entry, status: "skipped" } : entry)),
      };
      const history = [...state.history, summarize(finished)].slice(-HISTORY_LIMIT);
      const problem = action.result === "success" ? undefined : state.problem;
      return { ...state, current: finished, history, problem };
    }
  }
}

function outage(state: DevState, health: Health): DevState {
  return JSON.stringify(health) === JSON.stringify(state.health) ? state : { ...state, health };
}

/**
 * The engine or the cluster answers again. When both do and the last iteration failed because one
 * of them went away, that iteration runs again: the user's change was never tried.
 */
function recovered(state: DevState, health: Health): DevState {
  if (JSON.stringify(health) === JSON.stringify(state.health)) return state;
  const allUp = health.engine.status === "ok" && health.cluster.status === "ok";
  const retry = allUp && state.problem?.lostConnection === true && state.current?.result === "failed";
  if (!retry || !state.current) return { ...state, health };
  const changes = state.current.changes;
  return {
    ...state,
    health,
    pending: {
      ...state.pending,
      ...changes,
      force: true,
      paths: [...new Set([...state.pending.paths, ...changes.paths])],
      firstEventAt: state.pending.firstEventAt ?? changes.firstEventAt,
    },
  };
}

/**
 * The image an apply deploys: the one this iteration delivered, else the one serving (a
 * manifests-only change applies it again). Never a build whose delivery failed.
 */
export function imageToDeploy(state: DevState): DeliveredImage | undefined {
  if (state.current?.delivered) return state.current.delivered;
  return state.serving ? { podImage: state.serving, runAsUser: state.servingRunAsUser } : undefined;
}

/** Why nothing can run now, if the engine or the cluster is away: shown in the header and as the hold reason. */
export function outageReason(health: Health): string | undefined {
  if (health.engine.status === "down") return `the Docker engine does not answer (${health.engine.cause})`;
  if (health.cluster.status === "down") return `the cluster does not answer (${health.cluster.cause})`;
  if (health.cluster.status === "deleted") return "the cluster was deleted";
  return undefined;
}

function summarize(iteration: Iteration): IterationSummary {
  const stageMs: Partial<Record<Stage, number>> = {};
  for (const entry of iteration.stages) {
    if (entry.startedAt !== undefined && entry.finishedAt !== undefined) stageMs[entry.stage] = entry.finishedAt - entry.startedAt;
  }
  const tests = iteration.tests ?? [];
  return {
    id: iteration.id,
    trigger: iteration.trigger,
    route: iteration.route,
    image: iteration.image,
    deliveryPath: iteration.deliveryPath,
    stageMs,
    totalMs: (iteration.finishedAt ?? iteration.startedAt) - (iteration.changes.firstEventAt ?? iteration.startedAt),
    result: iteration.result ?? "cancelled",
    testsPassed: tests.filter((test) => test.passed).length,
    testsFailed: tests.filter((test) => !test.passed).length,
  };
}

function describeTrigger(changes: ChangeSet, id: number): string {
  if (changes.paths.length > 0) {
    const [first] = changes.paths;
    return changes.paths.length === 1 ? `${first} changed` : `${first} and ${changes.paths.length - 1} more changed`;
  }
  if (changes.rebuildReason) return changes.rebuildReason;
  if (changes.force) return id === 1 ? "start" : "rebuild requested";
  if (changes.tests) return "tests requested";
  return "change";
}
