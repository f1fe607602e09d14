import { describe, expect, it } from "vitest";
import { initialState, reduce, type DeliveredImage, type DevAction, type DevState, type Stage } from "../../src/core/dev/state.js";
import { startRunner, type Pipeline, type StageContext } from "../../src/engine/runner.js";
import { Store } from "../../src/engine/store.js";
import { LiveUnavailable, UserError } from "../../src/errors.js";

/**
 * Lets every promise the runner has in flight settle. The runner runs on promises alone (no
 * timers): one turn of the event loop, not a wait of some milliseconds, is what it needs.
 */
const settle = () => new Promise((resolve) => setImmediate(resolve));

/** A pipeline whose stages wait until the test releases them, recording what ran. */
function fakePipeline() {
  const calls: string[] = [];
  const applied: DeliveredImage[] = [];
  const synced: string[][] = [];
  const gates = new Map<string, () => void>();
  let buildCount = 0;
  const failures = new Map<string, Error>();
  const gate = (name: string, context: StageContext) =>
    new Promise<void>((resolve, reject) => {
      calls.push(`${name}#${context.iteration}`);
      const failure = failures.get(name);
      if (failure) {
        failures.delete(name);
        reject(failure);
        return;
      }
      gates.set(name, resolve);
      context.signal.addEventListener(
        "abort",
        () => {
          if (gates.get(name) === resolve) gates.delete(name);
          reject(Object.assign(new Error("aborted"), { name: "AbortError" }));
        },
        { once: true },
      );
    });
  const pipeline: Pipeline = {
    reloadConfig: async (context) => gate("config", context),
    build: async (context) => {
      await gate("build", context);
      buildCount++;
      const image = { repository: "iris", tag: `v${buildCount}`, imageId: `sha256:v${buildCount}` };
      return { reference: `iris:v${buildCount}`, image, cached: false, detail: "built" };
    },
    deliver: async (context, image) => {
      await gate("deliver", context);
      // Each build runs as another user: 1001 for v1, 1002 for v2.
      return { path: "registry", podImage: `localhost:5001/iris:${image.tag}`, runAsUser: 1000 + Number(image.tag.slice(1)), detail: "pushed" };
    },
    apply: async (context, image) => {
      applied.push(image);
      await gate("apply", context);
      return { detail: "applied" };
    },
    rollout: async (context) => {
      await gate("rollout", context);
      return { detail: "ready 1/1" };
    },
    test: async (context) => {
      await gate("test", context);
      return { tests: [{ name: "setosa", passed: true, latencyMs: 3 }], changes: [], results: [] };
    },
    sync: async (context, paths) => {
      synced.push([...paths]);
      await gate("sync", context);
      return { files: [...paths], pods: [{ name: "iris-1", restarts: 0 }], detail: `${paths.join(", ")} to 1 pod` };
    },
  };
  /** Lets the named stage finish once it is waiting. */
  const release = async (name: string) => {
    for (let attempt = 0; attempt < 200 && !gates.has(name); attempt++) await settle();
    const open = gates.get(name);
    if (!open) throw new Error(`stage ${name} never started; calls: ${calls.join(" ")}`);
    gates.delete(name);
    open();
  };
  const finishIteration = async (stages: Stage[] = ["build", "deliver", "apply", "rollout", "test"]) => {
    for (const stage of stages) await release(stage);
  };
  return { pipeline, calls, applied, synced, release, finishIteration, failNext: (name: string, error: Error) => failures.set(name, error) };
}

function setUp() {
  const store = new Store<DevState, DevAction>(initialState({ name: "iris", dir: "/m" }), reduce);
  const fake = fakePipeline();
  let clock = 0;
  const runner = startRunner(store, fake.pipeline, { abortBuildOnChange: true, now: () => ++clock });
  store.dispatch({ type: "cluster/ready", info: { provider: "kind", name: "mlkube", context: "kind-mlkube", deliveryPath: "registry", deliveryReason: "" } });
  const change = (path: string) => store.dispatch({ type: "files/changed", changes: [{ path, kind: "build" }], at: ++clock });
  return { store, runner, change, ...fake };
}

describe("the dev loop runner", () => {
  it("turns a burst of 500 writes into exactly one iteration", async () => {
    const { store, runner, change, finishIteration, calls } = setUp();
    await finishIteration();
    await runner.idle();
    for (let index = 0; index < 500; index++) change(`src/file${index % 10}.py`);
    await finishIteration();
    await runner.idle();
    expect(calls.filter((call) => call.startsWith("build"))).toEqual(["build#1", "build#2"]);
    expect(store.getState().history.map((row) => row.result)).toEqual(["success", "success"]);
    expect(store.getState().history[1]?.trigger).toBe("src/file0.py and 9 more changed");
    await runner.stop();
  });

  it("aborts a build when a change arrives during it, and starts over", async () => {
    const { store, runner, change, finishIteration, calls } = setUp();
    await finishIteration();
    await runner.idle();
    change("app.py");
    await settle();
    change("app.py"); // saved again while building
    await settle(); // let the abort land before releasing stages
    await finishIteration();
    await runner.idle();
    expect(calls.filter((call) => call.startsWith("build"))).toEqual(["build#1", "build#2", "build#3"]);
    expect(store.getState().history.map((row) => row.result)).toEqual(["success", "cancelled", "success"]);
    await runner.stop();
  });

  it("applies the serving image with its own user, not the last built one's, after a build whose delivery failed", async () => {
    const { store, runner, change, finishIteration, release, failNext, applied } = setUp();
    await finishIteration();
    await runner.idle();
    // v2 builds, but its delivery fails: v1 keeps serving.
    failNext("deliver", new UserError("delivery", "push refused"));
    change("app.py");
    await release("build");
    await runner.idle();
    expect(store.getState().serving).toBe("localhost:5001/iris:v1");
    // A manifests-only change applies the serving image again: with v1's USER, not v2's.
    store.dispatch({ type: "files/changed", changes: [{ path: "k8s/service.yaml", kind: "manifests" }], at: 99 });
    await finishIteration(["apply", "rollout", "test"]);
    await runner.idle();
    expect(applied).toEqual([
      { podImage: "localhost:5001/iris:v1", runAsUser: 1001 },
      { podImage: "localhost:5001/iris:v1", runAsUser: 1001 },
    ]);
    await runner.stop();
  });

  it("queues changes during a rollout into one follow-up iteration", async () => {
    const { store, runner, change, finishIteration, calls } = setUp();
    await finishIteration(["build", "deliver", "apply"]);
    change("app.py");
    change("model.pkl");
    await finishIteration(["rollout", "test"]);
    await finishIteration();
    await runner.idle();
    expect(calls.filter((call) => call.startsWith("rollout"))).toEqual(["rollout#1", "rollout#2"]);
    expect(store.getState().history).toHaveLength(2);
    await runner.stop();
  });

  it("keeps the last good version serving when a later build fails, and recovers on the next change", async () => {
    const { store, runner, change, failNext, finishIteration } = setUp();
    await finishIteration();
    await runner.idle();
    expect(store.getState().serving).toBe("localhost:5001/iris:v1");

    failNext(
      "build",
      new UserError("dockerfile", "Dockerfile does not parse.", { details: ["Dockerfile:3:1 unknown instruction 'RUNN'"], hint: "Fix line 3" }),
    );
    change("Dockerfile");
    await runner.idle();
    await settle();
    let state = store.getState();
    expect(state.history.at(-1)?.result).toBe("failed");
    expect(state.serving).toBe("localhost:5001/iris:v1");
    expect(state.problem).toMatchObject({ stage: "build", message: "Dockerfile does not parse.", hint: "Fix line 3" });

    change("Dockerfile");
    await finishIteration();
    await runner.idle();
    state = store.getState();
    expect(state.serving).toBe("localhost:5001/iris:v2");
    expect(state.problem).toBeUndefined();
    await runner.stop();
  });

  it("reports a bug in a stage as an internal error without stopping the loop", async () => {
    const { store, runner, change, failNext, finishIteration } = setUp();
    await finishIteration();
    await runner.idle();
    failNext("apply", new TypeError("cannot read properties of undefined"));
    change("app.py");
    await finishIteration(["build", "deliver"]);
    await runner.idle();
    await settle();
    expect(store.getState().problem?.message).toBe("mlkube hit an internal error during apply (a bug in mlkube, not in your model).");
    change("app.py");
    await finishIteration();
    await runner.idle();
    expect(store.getState().history.at(-1)?.result).toBe("success");
    await runner.stop();
  });

  it("runs only the tests when t is pressed", async () => {
    const { store, runner, finishIteration, release, calls } = setUp();
    await finishIteration();
    await runner.idle();
    store.dispatch({ type: "key/test", at: 100 });
    await release("test");
    await runner.idle();
    expect(calls.slice(-1)).toEqual(["test#2"]);
    await runner.stop();
  });

  describe("live update", () => {
    /** A loop that has served once, with the fixture's rules (model.pkl and app.py copied into /app). */
    async function served() {
      const loop = setUp();
      loop.store.dispatch({
        type: "live/rules",
        sync: {
          rules: [
            { src: "model.pkl", dest: "/app/", origin: "Dockerfile:9 COPY" },
            { src: "app.py", dest: "/app/", origin: "Dockerfile:9 COPY" },
          ],
          context: "",
          dockerfile: "Dockerfile",
        },
      });
      await loop.finishIteration();
      await loop.runner.idle();
      return loop;
    }

    it("syncs a change the rules cover, with no build and no rollout, and says the pods are ahead of the image", async () => {
      const { store, runner, change, release, calls, synced } = await served();
      change("app.py");
      await release("sync");
      await release("test");
      await runner.idle();
      expect(calls.slice(-2)).toEqual(["sync#2", "test#2"]);
      expect(synced).toEqual([["app.py"]]);
      expect(store.getState().current).toMatchObject({ route: { kind: "sync", reason: "app.py covered by the sync rules" }, result: "success" });
      expect(store.getState().live.ahead).toEqual(["app.py"]);
      expect(store.getState().history.at(-1)?.stageMs).toHaveProperty("sync");
      await runner.stop();
    });

    it("rebuilds a dependency change, and a file no rule covers, naming it", async () => {
      const { store, runner, change, finishIteration } = await served();
      change("requirements.txt");
      await finishIteration();
      await runner.idle();
      expect(store.getState().current?.route).toEqual({ kind: "rebuild", reason: "requirements.txt changed (dependencies are installed at build time)" });
      change("notes.md");
      await finishIteration();
      await runner.idle();
      expect(store.getState().current?.route).toEqual({ kind: "rebuild", reason: "notes.md is not covered by a sync rule" });
      await runner.stop();
    });

    it("goes on as a rebuild in the same iteration when the sync gives up, and stays off when the image cannot sync", async () => {
      const { store, runner, change, failNext, finishIteration, calls } = await served();
      failNext("sync", new LiveUnavailable("live update needs tar in the image", true));
      change("app.py");
      await finishIteration(["build", "deliver", "apply", "rollout", "test"]);
      await runner.idle();
      expect(calls.slice(-6)).toEqual(["sync#2", "build#2", "deliver#2", "apply#2", "rollout#2", "test#2"]);
      const current = store.getState().current;
      expect(current).toMatchObject({ result: "success", route: { kind: "rebuild", reason: "live update needs tar in the image" } });
      expect(current?.stages.map((stage) => `${stage.stage}:${stage.status}`)).toEqual([
        "sync:skipped",
        "build:done",
        "deliver:done",
        "apply:done",
        "rollout:done",
        "test:done",
      ]);
      expect(store.getState().live.off).toBe("live update needs tar in the image");
      change("app.py");
      await finishIteration();
      await runner.idle();
      expect(store.getState().current?.route).toEqual({ kind: "rebuild", reason: "live update is off (live update needs tar in the image)" });
      await runner.stop();
    });

    it("a sync that fails (the server did not come back) fails the iteration and keeps live update on", async () => {
      const { store, runner, change, failNext, release } = await served();
      failNext(
        "sync",
        new UserError("sync", "The changed files did not start on pod iris-1: the server exited. Its previous files are back and it answers again."),
      );
      change("app.py");
      await runner.idle();
      await settle();
      expect(store.getState().current).toMatchObject({ result: "failed", problem: { stage: "sync" } });
      expect(store.getState().live.off).toBeUndefined();
      change("app.py");
      await release("sync");
      await release("test");
      await runner.idle();
      expect(store.getState().current).toMatchObject({ result: "success", route: { kind: "sync" } });
      await runner.stop();
    });
  });
});
