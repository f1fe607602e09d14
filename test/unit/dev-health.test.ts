/**
 * Issue 17.3: the Docker engine or the cluster going away is seen, named, holds changes, and the
 * loop resumes by itself when they are back; a deleted cluster is offered for re-creation.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { nextStep } from "../../src/core/dev/planner.js";
import { initialState, reduce, type DevAction, type DevState } from "../../src/core/dev/state.js";
import { startHealthMonitor, type HealthProbes } from "../../src/engine/health-monitor.js";
import { problemFrom } from "../../src/engine/runner.js";

const clusterReady: DevAction = {
  type: "cluster/ready",
  info: { provider: "kind", name: "mlkube", context: "kind-mlkube", deliveryPath: "registry", deliveryReason: "r" },
};
const options = { abortBuildOnChange: true };
const edit: DevAction = { type: "files/changed", changes: [{ path: "app.py", kind: "build" }], at: 100 };
const engineDown: DevAction = { type: "health/engine", up: false, cause: "ENOENT /var/run/docker.sock", at: 50 };
const engineUp: DevAction = { type: "health/engine", up: true, at: 90 };

function run(recreate: DevState["health"]["recreate"], ...actions: DevAction[]): DevState {
  return actions.reduce(reduce, initialState({ name: "iris", dir: "/m" }, recreate));
}

/** The first iteration, run to its end with the given result. */
function firstIteration(result: "success" | "failed", problem?: DevAction): DevAction[] {
  return [
    clusterReady,
    {
      type: "iteration/started",
      id: 1,
      changes: { build: false, config: false, manifests: false, tests: false, force: true, paths: [], firstEventAt: 1 },
      stages: ["build"],
      at: 1,
    },
    ...(problem ? [problem] : []),
    { type: "iteration/finished", id: 1, at: 2, result },
  ];
}

describe("an engine or cluster outage in the loop's state", () => {
  it("holds a change while the engine is down, naming the cause, and runs it once the engine is back", () => {
    const down = run("explain", ...firstIteration("success"), engineDown, edit);
    expect(nextStep(down, options)).toEqual({
      kind: "hold",
      reason: "waiting: the Docker engine does not answer (ENOENT /var/run/docker.sock); changes are held and run when it is back",
    });
    const back = reduce(down, engineUp);
    expect(nextStep(back, options)).toMatchObject({ kind: "start", changes: { build: true, paths: ["app.py"] } });
  });

  it("re-runs an iteration that failed because the engine went away, once it is back", () => {
    const lost: DevAction = {
      type: "stage/failed",
      id: 1,
      stage: "build",
      at: 2,
      problem: { stage: "build", message: "lost", details: [], lostConnection: true },
    };
    const down = run("explain", ...firstIteration("failed", lost), engineDown);
    expect(nextStep(down, options)).toEqual({ kind: "idle" });
    expect(nextStep(reduce(down, engineUp), options)).toMatchObject({ kind: "start", changes: { force: true } });
  });

  it("does not re-run an iteration that failed for its own reasons (a Dockerfile typo) when the engine returns", () => {
    const typo: DevAction = { type: "stage/failed", id: 1, stage: "build", at: 2, problem: { stage: "build", message: "unknown instruction", details: [] } };
    const back = reduce(run("explain", ...firstIteration("failed", typo), engineDown), engineUp);
    expect(nextStep(back, options)).toEqual({ kind: "idle" });
  });

  it("keeps the time the outage began while it lasts", () => {
    const state = run("explain", clusterReady, engineDown, { ...engineDown, at: 80 } as DevAction);
    expect(state.health.engine).toEqual({ status: "down", cause: "ENOENT /var/run/docker.sock", since: 50 });
  });

  it.each([
    { recreate: "offer" as const, says: "press y to re-create it" },
    { recreate: "auto" as const, says: "re-creating it (--yes)" },
    { recreate: "explain" as const, says: "mlkube dev --yes" },
  ])("a deleted cluster holds changes and says what happens next ($recreate)", ({ recreate, says }) => {
    const state = run(recreate, clusterReady, { type: "health/cluster", state: "deleted", at: 5 }, edit);
    const step = nextStep(state, options);
    expect(step.kind).toBe("hold");
    expect(step.kind === "hold" && step.reason).toContain("the cluster was deleted");
    expect(step.kind === "hold" && step.reason).toContain(says);
  });

  it("the y key turns an offer into a re-creation, and only an offer", () => {
    const deleted: DevAction = { type: "health/cluster", state: "deleted", at: 5 };
    expect(run("offer", clusterReady, deleted, { type: "key/recreate" }).health.recreate).toBe("auto");
    expect(run("explain", clusterReady, deleted, { type: "key/recreate" }).health.recreate).toBe("explain");
    expect(run("offer", clusterReady, { type: "key/recreate" }).health.recreate).toBe("offer");
  });

  it("a re-created cluster runs the whole pipeline again", () => {
    const state = run("auto", ...firstIteration("success"), { type: "health/cluster", state: "deleted", at: 5 }, { type: "cluster/recreating" }, clusterReady);
    expect(state.health.cluster).toEqual({ status: "ok" });
    expect(nextStep(state, options)).toMatchObject({ kind: "start", stages: ["build", "deliver", "apply", "rollout", "test"] });
  });
});

describe("a stage that lost its connection is a user-facing problem, not a bug", () => {
  it.each([
    {
      error: Object.assign(new Error("connect ECONNREFUSED /var/run/docker.sock"), {
        code: "ECONNREFUSED",
        syscall: "connect",
        address: "/var/run/docker.sock",
      }),
      says: "lost its connection to /var/run/docker.sock: nothing listens there (connection refused)",
    },
    {
      error: Object.assign(new Error("connect ENOENT /var/run/docker.sock"), { code: "ENOENT", syscall: "connect", address: "/var/run/docker.sock" }),
      says: "lost its connection to /var/run/docker.sock: no socket exists at that path",
    },
    {
      error: new Error("fetch failed", {
        cause: Object.assign(new Error("x"), { code: "ECONNREFUSED", syscall: "connect", address: "127.0.0.1", port: 34567 }),
      }),
      says: "lost its connection to 127.0.0.1:34567: nothing listens there (connection refused)",
    },
  ])("$says", ({ error, says }) => {
    const problem = problemFrom("build", error);
    expect(problem.message).toContain(says);
    expect(problem.message).not.toContain("internal error");
    expect(problem.lostConnection).toBe(true);
  });

  it("a file that does not exist is still a bug when it is not a socket", () => {
    const problem = problemFrom("build", Object.assign(new Error("ENOENT: open '/x'"), { code: "ENOENT", syscall: "open" }));
    expect(problem.message).toContain("internal error");
  });
});

describe("the health monitor", () => {
  afterEach(() => vi.useRealTimers());

  function probes(overrides: Partial<HealthProbes>): HealthProbes {
    return { pingEngine: async () => "OK", pingCluster: async () => ({}), clusterExists: async () => true, ...overrides };
  }

  async function tick(ms: number): Promise<void> {
    await vi.advanceTimersByTimeAsync(ms);
  }

  it("reports the engine down with its cause, then up again, every interval", async () => {
    vi.useFakeTimers();
    let engineAnswers = false;
    const actions: DevAction[] = [];
    const monitor = startHealthMonitor(
      probes({
        pingEngine: async () =>
          engineAnswers ? "OK" : Promise.reject(Object.assign(new Error("no"), { code: "ECONNREFUSED", address: "/var/run/docker.sock" })),
      }),
      (action) => actions.push(action),
      { intervalMs: 1_000, now: () => 7 },
    );
    await tick(1_000);
    expect(actions).toContainEqual({ type: "health/engine", up: false, cause: "ECONNREFUSED /var/run/docker.sock", at: 7 });
    engineAnswers = true;
    actions.length = 0;
    await tick(1_000);
    expect(actions).toContainEqual({ type: "health/engine", up: true, at: 7 });
    monitor.stop();
  });

  it("asks whether the cluster still exists only when it does not answer, and reports it deleted", async () => {
    vi.useFakeTimers();
    const exists = vi.fn(async () => false);
    const actions: DevAction[] = [];
    let clusterAnswers = true;
    const monitor = startHealthMonitor(
      probes({
        pingCluster: async () => (clusterAnswers ? {} : Promise.reject(Object.assign(new Error("x"), { code: "ECONNREFUSED" }))),
        clusterExists: exists,
      }),
      (action) => actions.push(action),
      { intervalMs: 1_000, now: () => 9 },
    );
    await tick(1_000);
    expect(exists).not.toHaveBeenCalled();
    clusterAnswers = false;
    await tick(1_000);
    expect(exists).toHaveBeenCalledTimes(1);
    expect(actions.at(-1)).toEqual({ type: "health/cluster", state: "deleted", at: 9 });
    monitor.stop();
  });

  it("a probe that hangs counts as down after the timeout", async () => {
    vi.useFakeTimers();
    const actions: DevAction[] = [];
    const monitor = startHealthMonitor(probes({ pingEngine: () => new Promise(() => undefined) }), (action) => actions.push(action), {
      intervalMs: 1_000,
      timeoutMs: 500,
      now: () => 1,
    });
    await tick(1_600);
    expect(actions).toContainEqual({ type: "health/engine", up: false, cause: "no answer within 0.5 s", at: 1 });
    monitor.stop();
  });
});
