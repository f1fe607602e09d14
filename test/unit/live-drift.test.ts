import { describe, expect, it } from "vitest";
import { initialState, reduce, type DevState } from "../../src/core/dev/state.js";
import { driftReason } from "../../src/core/live/drift.js";

const synced = [
  { name: "iris-abc-1", restarts: 0 },
  { name: "iris-abc-2", restarts: 1 },
];

describe("drift: pods that no longer run the synced files", () => {
  it("names a pod that replaced a synced one, or restarted since the sync", () => {
    expect(driftReason(synced, [...synced], ["app.py"])).toBeUndefined();
    expect(driftReason(synced, [synced[0]!], ["app.py"])).toBeUndefined(); // a pod gone is not serving anything
    expect(driftReason(synced, [synced[0]!, { name: "iris-abc-3", restarts: 0 }], ["app.py"])).toBe("pod iris-abc-3 started from the image, without app.py");
    expect(driftReason(synced, [{ name: "iris-abc-1", restarts: 1 }, synced[1]!], ["app.py", "model.pkl"])).toBe(
      "pod iris-abc-1 restarted from the image, without 2 synced files",
    );
  });

  it("says nothing when nothing is ahead of the image", () => {
    expect(driftReason(synced, [{ name: "iris-new", restarts: 0 }], [])).toBeUndefined();
  });

  it("turns drift into one forced rebuild, named as the trigger; the rollout clears what was ahead", () => {
    let state: DevState = {
      ...initialState({ name: "iris", dir: "/m" }),
      pending: { build: false, config: false, manifests: false, tests: false, force: false, paths: [], firstEventAt: undefined },
    };
    state = reduce(state, {
      type: "iteration/started",
      id: 1,
      changes: { ...state.pending, build: true, paths: ["app.py"] },
      stages: ["sync", "test"],
      route: { kind: "sync", reason: "app.py covered" },
      at: 1,
    });
    state = reduce(state, { type: "live/synced", id: 1, files: ["app.py"], pods: synced });
    expect(state.live).toMatchObject({ ahead: ["app.py"], pods: synced });
    state = reduce(state, { type: "live/drifted", reason: "pod iris-abc-3 started from the image, without app.py", at: 5 });
    expect(state.pending).toMatchObject({ force: true, rebuildReason: "pod iris-abc-3 started from the image, without app.py", firstEventAt: 5 });
    const again = reduce(state, { type: "live/drifted", reason: "pod iris-abc-4 started from the image, without app.py", at: 6 });
    expect(again).toBe(state);
    state = reduce(state, { type: "iteration/started", id: 2, changes: state.pending, stages: ["build", "deliver", "apply", "rollout", "test"], at: 7 });
    expect(state.current?.trigger).toBe("pod iris-abc-3 started from the image, without app.py");
    state = reduce(state, { type: "rollout/serving", id: 2, image: "iris:2" });
    expect(state.live).toMatchObject({ ahead: [], pods: [] });
  });
});
