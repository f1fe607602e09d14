import { describe, expect, it } from "vitest";
import { EMPTY_CHANGES } from "../../src/core/dev/changes.js";
import { initialState, reduce, type DevAction, type DevState } from "../../src/core/dev/state.js";
import { exitStatus, runningIteration, summaryLine, type SessionEnd } from "../../src/ui/dev/summary.js";

const ready: DevAction = {
  type: "cluster/ready",
  info: {
    provider: "kind",
    name: "mlkube",
    context: "kind-mlkube",
    deliveryPath: "registry",
    deliveryReason: "a registry",
    endpoint: "http://127.0.0.1:30080",
  },
};

/** Iteration `id`: started at `at`, its build running for a while, then finished as `result` (or still running). */
function iteration(id: number, at: number, result?: "success" | "failed" | "cancelled", untested = false): DevAction[] {
  const actions: DevAction[] = [
    { type: "files/changed", changes: [{ path: "app.py", kind: "build" }], at },
    {
      type: "iteration/started",
      id,
      changes: { ...EMPTY_CHANGES, build: true, paths: ["app.py"], firstEventAt: at },
      stages: ["build", "deliver", "rollout", "test"],
      at,
    },
    { type: "stage/started", id, stage: "build", at: at + 100 },
  ];
  if (result === "success") {
    actions.push({ type: "rollout/serving", id, image: `iris:${id}` });
    if (!untested) actions.push({ type: "tests/result", id, tests: [{ name: "setosa", passed: true, latencyMs: 9 }], changes: [] });
  }
  if (result) actions.push({ type: "iteration/finished", id, at: at + (result === "success" ? 3_400 : 41_400), result });
  return actions;
}

const run = (...actions: DevAction[][]): DevState => actions.flat().reduce(reduce, initialState({ name: "iris", dir: "/models/iris" }));
const end = (change: Partial<SessionEnd>): SessionEnd => ({ request: "q", forced: false, cleanedUp: false, ...change });

describe("the session's summary line", () => {
  it("an iteration that rolled out without smoke tests was deployed, never verified", () => {
    const state = run([ready], iteration(1, 0, "success", true));
    expect(summaryLine(state, end({}))).toContain("nothing verified yet");
  });

  it("q with nothing running: the counts and the last verified time", () => {
    const state = run([ready], iteration(1, 0, "success"), iteration(2, 10_000, "failed"));
    expect(summaryLine(state, end({}))).toBe(
      "mlkube dev: 2 iteration(s), 1 ok, 1 failed" +
        "; last edit-to-verified 3.4 s (#1); iris keeps running at http://127.0.0.1:30080 ('mlkube down' removes the cluster)",
    );
  });

  it("a tunnel's URL is not where the model keeps running: the tunnel closed with mlkube", () => {
    const tunnel: DevAction = { type: "endpoint/changed", url: "http://127.0.0.1:51002", via: "tunnel", reason: "a 'minikube service iris --url' tunnel" };
    const state = run([ready, tunnel], iteration(1, 0, "success"));
    expect(summaryLine(state, end({}))).toContain(
      "iris keeps running ('mlkube down' removes the cluster), but not at http://127.0.0.1:51002: that tunnel closed with mlkube",
    );
  });

  it("Ctrl-C during a build: the iteration is interrupted, not ok, and its time is not edit-to-verified", () => {
    const before = run([ready], iteration(1, 0, "success"), iteration(2, 10_000));
    const interrupted = runningIteration(before);
    expect(interrupted).toEqual({ id: 2, stage: "build" });
    // The quit stops the runner, which finishes the iteration as cancelled 41 s after the edit.
    const after = run([ready], iteration(1, 0, "success"), iteration(2, 10_000, "cancelled"));
    const line = summaryLine(after, end({ request: "ctrl-c", interrupted }));
    expect(line).toMatch(
      /^mlkube dev: interrupted \(Ctrl-C\) during #2 build; 2 iteration\(s\), 1 ok, 0 failed, 1 interrupted; last edit-to-verified 3\.4 s \(#1\);/,
    );
    expect(line).not.toContain("41.4");
  });

  it("a forced exit counts the iteration that never finished", () => {
    const state = run([ready], iteration(1, 0));
    const line = summaryLine(state, end({ request: "ctrl-c", forced: true, interrupted: runningIteration(state) }));
    expect(line).toBe(
      "mlkube dev: interrupted (Ctrl-C) during #1 build, forced out before the shutdown finished; 1 iteration(s), 0 ok, 0 failed, 1 interrupted; nothing verified yet",
    );
  });

  it("tells iterations cancelled by newer changes from the interrupted one", () => {
    const state = run([ready], iteration(1, 0, "cancelled"), iteration(2, 5_000, "cancelled"));
    expect(summaryLine(state, end({ request: "SIGTERM", interrupted: { id: 2, stage: "build" } }))).toBe(
      "mlkube dev: terminated (SIGTERM) during #2 build; 2 iteration(s), 0 ok, 0 failed, 1 cancelled by newer changes, 1 interrupted; nothing verified yet",
    );
  });

  it("says when the session ended before the cluster was ready", () => {
    expect(summaryLine(run(), end({ request: "SIGINT" }))).toBe(
      "mlkube dev: interrupted (SIGINT) while the cluster was starting; 0 iteration(s), 0 ok, 0 failed; nothing verified yet",
    );
  });

  it("exits as shells report a signal: 128 + its number; 0 for q", () => {
    expect([exitStatus("q"), exitStatus("ctrl-c"), exitStatus("SIGINT"), exitStatus("SIGTERM")]).toEqual([0, 130, 130, 143]);
  });
});
