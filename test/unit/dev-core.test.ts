import { describe, expect, it } from "vitest";
import { EMPTY_CHANGES, classifyChange, type ChangeSet, type ClassifyRules } from "../../src/core/dev/changes.js";
import { nextStep, stagesFor } from "../../src/core/dev/planner.js";
import { imageToDeploy, initialState, reduce, type DevAction, type DevState } from "../../src/core/dev/state.js";

const rules: ClassifyRules = {
  configFiles: ["mlkube.yaml"],
  manifestPaths: ["k8s"],
  dockerfile: "docker/Dockerfile",
  inBuildContext: (path) => !path.startsWith("notebooks/") && !path.startsWith("docker/") && path !== "train.py",
  ignored: (path) => path.startsWith(".git/") || path.includes("__pycache__/"),
};
const clusterReady: DevAction = {
  type: "cluster/ready",
  info: { provider: "kind", name: "mlkube", context: "kind-mlkube", deliveryPath: "registry", deliveryReason: "r" },
};
const options = { abortBuildOnChange: true };

function run(...actions: DevAction[]): DevState {
  return actions.reduce(reduce, initialState({ name: "iris", dir: "/m" }));
}
const changes = (partial: Partial<ChangeSet>): ChangeSet => ({ ...EMPTY_CHANGES, ...partial });

describe("what a changed file means", () => {
  it.each([
    ["app.py", "build"],
    ["model.pkl", "build"],
    ["mlkube.yaml", "config"],
    ["k8s/deployment.yaml", "manifests"],
    ["train.py", "ignored"], // excluded by .dockerignore: not in the image
    ["docker/Dockerfile", "build"], // outside the context (or .dockerignored): docker build sends it anyway
    ["notebooks/explore.ipynb", "ignored"],
    [".git/index", "ignored"],
    ["pkg/__pycache__/app.cpython-311.pyc", "ignored"],
  ])("%s -> %s", (path, kind) => {
    expect(classifyChange(path, rules)).toBe(kind);
  });
});

describe("which stages a change needs", () => {
  it.each<[string, Partial<ChangeSet>, string[]]>([
    ["code", { build: true }, ["build", "deliver", "apply", "rollout", "test"]],
    ["mlkube.yaml", { config: true }, ["config", "build", "deliver", "apply", "rollout", "test"]],
    ["manifests only", { manifests: true }, ["apply", "rollout", "test"]],
    ["tests only (t)", { tests: true }, ["test"]],
    ["rebuild (r)", { force: true }, ["build", "deliver", "apply", "rollout", "test"]],
  ])("%s", (_name, partial, stages) => {
    expect(stagesFor(changes(partial))).toEqual(stages);
  });
});

describe("the planner", () => {
  it("holds the first iteration until the cluster is ready, with a reason to show", () => {
    expect(nextStep(run(), options)).toEqual({ kind: "hold", reason: "waiting: cluster not ready" });
    expect(nextStep(run(clusterReady), options)).toMatchObject({ kind: "start", stages: ["build", "deliver", "apply", "rollout", "test"] });
  });

  it("does nothing for ignored files", () => {
    const state = run(
      clusterReady,
      { type: "iteration/started", id: 1, changes: changes({ force: true }), stages: ["build"], at: 0 },
      { type: "iteration/finished", id: 1, at: 1, result: "success" },
      { type: "files/changed", changes: [{ path: "train.py", kind: "ignored" }], at: 5 },
    );
    expect(nextStep(state, options)).toEqual({ kind: "idle" });
  });

  it("merges a burst into one iteration that starts at the first event", () => {
    let state = run(
      clusterReady,
      { type: "iteration/started", id: 1, changes: changes({ force: true }), stages: ["build"], at: 0 },
      { type: "iteration/finished", id: 1, at: 1, result: "success" },
    );
    for (let index = 0; index < 500; index++)
      state = reduce(state, { type: "files/changed", changes: [{ path: `src/f${index % 7}.py`, kind: "build" }], at: 100 + index });
    const step = nextStep(state, options);
    expect(step).toMatchObject({ kind: "start", changes: { build: true, firstEventAt: 100 } });
    expect((step as { changes: ChangeSet }).changes.paths).toHaveLength(7);
  });

  it("cancels a running build when new build changes arrive, but queues during a rollout", () => {
    const started: DevAction[] = [
      clusterReady,
      { type: "iteration/started", id: 1, changes: changes({ force: true }), stages: ["build", "deliver", "apply", "rollout", "test"], at: 0 },
    ];
    const duringBuild = run(
      ...started,
      { type: "stage/started", id: 1, stage: "build", at: 1 },
      { type: "files/changed", changes: [{ path: "app.py", kind: "build" }], at: 2 },
    );
    expect(nextStep(duringBuild, options)).toEqual({ kind: "cancel", id: 1, reason: "newer changes arrived during the build" });
    expect(nextStep(duringBuild, { abortBuildOnChange: false })).toEqual({ kind: "hold", reason: "queued: runs after iteration #1" });

    const duringRollout = run(
      ...started,
      { type: "stage/done", id: 1, stage: "build", at: 1 },
      { type: "stage/started", id: 1, stage: "rollout", at: 2 },
      { type: "files/changed", changes: [{ path: "app.py", kind: "build" }], at: 3 },
      { type: "files/changed", changes: [{ path: "model.pkl", kind: "build" }], at: 4 },
    );
    expect(nextStep(duringRollout, options)).toEqual({ kind: "hold", reason: "queued: runs after iteration #1" });
    const after = reduce(duringRollout, { type: "iteration/finished", id: 1, at: 5, result: "success" });
    expect(nextStep(after, options)).toMatchObject({ kind: "start", changes: { paths: ["app.py", "model.pkl"] } });
  });

  it("holds while paused and runs the queued changes on resume", () => {
    const paused = run(clusterReady, { type: "key/pause" });
    expect(nextStep(paused, options)).toEqual({ kind: "hold", reason: "paused: changes are queued; press p to resume" });
    expect(nextStep(reduce(paused, { type: "key/pause" }), options)).toMatchObject({ kind: "start" });
  });
});

describe("the reducer", () => {
  const first: DevAction[] = [
    clusterReady,
    { type: "iteration/started", id: 1, changes: changes({ force: true }), stages: ["build", "deliver", "apply", "rollout", "test"], at: 0 },
  ];

  it("keeps the serving image when a later iteration fails, and shows the problem", () => {
    const state = run(
      ...first,
      { type: "rollout/serving", id: 1, image: "iris:aaa" },
      { type: "iteration/finished", id: 1, at: 10, result: "success" },
      {
        type: "iteration/started",
        id: 2,
        changes: changes({ build: true, paths: ["Dockerfile"], firstEventAt: 20 }),
        stages: ["build", "deliver", "apply", "rollout", "test"],
        at: 21,
      },
      { type: "stage/started", id: 2, stage: "build", at: 21 },
      {
        type: "stage/failed",
        id: 2,
        stage: "build",
        at: 22,
        problem: { stage: "build", message: "Dockerfile does not parse.", details: ["Dockerfile:3:1 unknown instruction 'RUNN'"] },
      },
      { type: "iteration/finished", id: 2, at: 22, result: "failed" },
    );
    expect(state.serving).toBe("iris:aaa");
    expect(state.problem?.message).toBe("Dockerfile does not parse.");
    expect(state.current?.stages.map((stage) => stage.status)).toEqual(["failed", "skipped", "skipped", "skipped", "skipped"]);
    expect(state.history.map((row) => [row.trigger, row.result, row.totalMs])).toEqual([
      ["start", "success", 10],
      ["Dockerfile changed", "failed", 2],
    ]);
  });

  it("clears the problem after a successful iteration", () => {
    const failed = run(
      ...first,
      { type: "stage/failed", id: 1, stage: "rollout", at: 2, problem: { stage: "rollout", message: "crash", details: [] } },
      { type: "iteration/finished", id: 1, at: 3, result: "failed" },
    );
    const fixed = [
      { type: "iteration/started", id: 2, changes: changes({ build: true }), stages: ["test"], at: 4 },
      { type: "iteration/finished", id: 2, at: 5, result: "success" },
    ] as DevAction[];
    expect(fixed.reduce(reduce, failed).problem).toBeUndefined();
  });

  it("ignores stale actions from an older iteration", () => {
    const state = run(
      ...first,
      { type: "iteration/finished", id: 1, at: 1, result: "cancelled" },
      { type: "iteration/started", id: 2, changes: changes({ build: true }), stages: ["build"], at: 2 },
    );
    expect(reduce(state, { type: "stage/done", id: 1, stage: "build", at: 3 })).toBe(state);
  });

  it("deploys the image this iteration delivered, else the serving one with its own user, never a build whose delivery failed", () => {
    const v1 = { repository: "iris", tag: "v1", imageId: "sha256:1" };
    const served = run(
      ...first,
      { type: "build/result", id: 1, image: "iris:v1", cached: false, built: v1 },
      { type: "deliver/result", id: 1, path: "registry", podImage: "localhost:5001/iris:v1", runAsUser: 1001 },
      { type: "rollout/serving", id: 1, image: "localhost:5001/iris:v1", runAsUser: 1001 },
      { type: "iteration/finished", id: 1, at: 10, result: "success" },
    );
    expect(imageToDeploy(served)).toEqual({ podImage: "localhost:5001/iris:v1", runAsUser: 1001 });
    const afterFailedDelivery = [
      { type: "iteration/started", id: 2, changes: changes({ build: true }), stages: ["build", "deliver", "apply", "rollout"], at: 11 },
      { type: "build/result", id: 2, image: "iris:v2", cached: false, built: { repository: "iris", tag: "v2", imageId: "sha256:2" } },
      { type: "iteration/finished", id: 2, at: 12, result: "failed" },
      { type: "iteration/started", id: 3, changes: changes({ manifests: true }), stages: ["apply", "rollout"], at: 13 },
    ] as DevAction[];
    expect(imageToDeploy(afterFailedDelivery.reduce(reduce, served))).toEqual({ podImage: "localhost:5001/iris:v1", runAsUser: 1001 });
    const delivering = [
      { type: "iteration/started", id: 2, changes: changes({ build: true }), stages: ["build", "deliver", "apply"], at: 11 },
      { type: "deliver/result", id: 2, path: "registry", podImage: "localhost:5001/iris:v2", runAsUser: undefined },
    ] as DevAction[];
    expect(imageToDeploy(delivering.reduce(reduce, served))).toEqual({ podImage: "localhost:5001/iris:v2", runAsUser: undefined });
  });

  it("forgets where the model was deployed, the detected readiness and the last answers when the cluster is re-created", () => {
    const target = { namespace: "default", deployment: "iris", selector: "app=iris", service: "iris", nodePort: 30080 };
    const known = run(
      ...first,
      { type: "deploy/applied", target },
      { type: "readiness/detected", readiness: { path: "/v2/health/ready", protocol: "Open Inference Protocol" } },
      { type: "tests/result", id: 1, tests: [], changes: [], results: [] },
    );
    expect(known).toMatchObject({ deployTarget: target, detectedReadiness: { path: "/v2/health/ready" }, smokeResults: [] });
    // Still known while the cluster only stops answering; gone once the deleted one is back.
    const down = reduce(known, { type: "health/cluster", state: "down", cause: "refused", at: 20 });
    expect(down.deployTarget).toEqual(target);
    const recreated = [{ type: "health/cluster", state: "deleted", at: 21 }, { type: "cluster/recreating" }, clusterReady] as DevAction[];
    expect(recreated.reduce(reduce, known)).toMatchObject({ deployTarget: undefined, detectedReadiness: undefined, smokeResults: undefined });
  });

  it("records stage times and edit-to-verified from the first file event", () => {
    const state = run(
      clusterReady,
      { type: "iteration/started", id: 1, changes: changes({ build: true, paths: ["app.py"], firstEventAt: 1000 }), stages: ["build", "test"], at: 1150 },
      { type: "stage/started", id: 1, stage: "build", at: 1150 },
      { type: "stage/done", id: 1, stage: "build", at: 1850 },
      { type: "stage/started", id: 1, stage: "test", at: 1850 },
      { type: "tests/result", id: 1, tests: [{ name: "setosa", passed: true, latencyMs: 4 }], changes: [] },
      { type: "stage/done", id: 1, stage: "test", at: 1900 },
      { type: "iteration/finished", id: 1, at: 1900, result: "success" },
    );
    expect(state.history[0]).toMatchObject({ trigger: "app.py changed", stageMs: { build: 700, test: 50 }, totalMs: 900, testsPassed: 1, testsFailed: 0 });
  });
});
