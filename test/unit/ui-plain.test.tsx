import { Writable } from "node:stream";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { EMPTY_CHANGES } from "../../src/core/dev/changes.js";
import { initialState, reduce, type DevAction, type DevState, type Stage } from "../../src/core/dev/state.js";
import { LogStore } from "../../src/engine/log-store.js";
import { Store } from "../../src/engine/store.js";
import { startPlainPrinter } from "../../src/ui/dev/plain.js";

const T0 = Date.parse("2025-06-01T12:00:00.000Z");
const STAGES: Stage[] = ["build", "deliver", "apply", "rollout", "test"];

function collector() {
  const chunks: string[] = [];
  const out = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk.toString());
      callback();
    },
  });
  return { out, text: () => chunks.join("") };
}

/** A store, a log store and a clock the scenario moves by hand. */
function bench() {
  const store = new Store<DevState, DevAction>(initialState({ name: "iris", dir: "/models/iris" }), reduce);
  const logs = new LogStore({ now: () => new Date(clock.at) });
  const clock = { at: T0 };
  let hold: string | undefined = "waiting: cluster not ready";
  const holdReason = () => hold;
  /** Dispatch at a moment, and let the store's once-per-burst notification run. */
  const at = async (offsetMs: number, ...actions: DevAction[]) => {
    clock.at = T0 + offsetMs;
    for (const action of actions) store.dispatch(action);
    if (store.getState().cluster.status === "ready") hold = undefined;
    await Promise.resolve();
  };
  return { store, logs, clock, holdReason, at, now: () => new Date(clock.at) };
}

/** One iteration whose smoke test fails, from cluster start to the finished summary. */
async function failingIteration({ at, logs }: ReturnType<typeof bench>) {
  await at(0, { type: "cluster/progress", detail: "creating kind cluster mlkube" });
  await at(20_000, {
    type: "cluster/ready",
    info: { provider: "kind", name: "mlkube", context: "kind-mlkube", deliveryPath: "load", deliveryReason: "the cluster announces no registry" },
  });
  await at(20_000, { type: "endpoint/changed", url: "http://127.0.0.1:30080" });
  await at(20_000, {
    type: "iteration/started",
    id: 1,
    changes: { ...EMPTY_CHANGES, force: true, firstEventAt: 20_000 + T0 },
    stages: STAGES,
    at: T0 + 20_000,
  });
  await at(20_000, { type: "stage/started", id: 1, stage: "build", at: T0 + 20_000 });
  await at(20_100, { type: "stage/progress", id: 1, stage: "build", detail: "step 1/9 FROM python:3.12-slim", progress: { current: 1, total: 9 } });
  await at(20_300, { type: "stage/progress", id: 1, stage: "build", detail: "step 2/9 WORKDIR /app", progress: { current: 2, total: 9 } });
  await at(21_200, { type: "stage/progress", id: 1, stage: "build", detail: "step 5/9 RUN pip install", progress: { current: 5, total: 9 } });
  await at(
    24_100,
    { type: "build/result", id: 1, image: "iris:3f2a", cached: false },
    { type: "stage/done", id: 1, stage: "build", at: T0 + 24_100, detail: "iris:3f2a built" },
  );
  await at(24_100, { type: "stage/started", id: 1, stage: "deliver", at: T0 + 24_100 });
  await at(
    36_100,
    { type: "deliver/result", id: 1, path: "load", podImage: "iris:3f2a" },
    { type: "stage/done", id: 1, stage: "deliver", at: T0 + 36_100, detail: "loaded into 1 node" },
  );
  // apply starts and finishes between two notifications: it still reads as started, then done.
  await at(
    36_300,
    { type: "stage/started", id: 1, stage: "apply", at: T0 + 36_100 },
    { type: "stage/done", id: 1, stage: "apply", at: T0 + 36_300, detail: "2 objects" },
  );
  await at(36_300, { type: "stage/started", id: 1, stage: "rollout", at: T0 + 36_300 });
  logs.append({ pod: "iris-7d9f-x2k4q", container: "model", text: "Uvicorn running on http://0.0.0.0:8080", time: "2025-06-01T12:00:37.000Z" });
  await at(
    38_300,
    { type: "rollout/serving", id: 1, image: "iris:3f2a" },
    { type: "stage/done", id: 1, stage: "rollout", at: T0 + 38_300, detail: "ready 1/1" },
  );
  await at(38_300, { type: "stage/started", id: 1, stage: "test", at: T0 + 38_300 });
  await at(38_350, {
    type: "tests/result",
    id: 1,
    tests: [
      { name: "setosa", passed: true, latencyMs: 12 },
      { name: "virginica", passed: false, latencyMs: 15, failures: [{ what: "label", expected: '"virginica"', actual: '"versicolor"' }] },
    ],
    changes: [],
  });
  await at(
    38_350,
    {
      type: "stage/failed",
      id: 1,
      stage: "test",
      at: T0 + 38_350,
      problem: { stage: "test", message: "1 of 2 smoke test(s) failed: virginica", details: [], hint: "Compare the prediction with mlkube.yaml tests[1]." },
    },
    { type: "iteration/finished", id: 1, at: T0 + 38_350, result: "failed" },
  );
}

describe("plain printer", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("text: a timestamped line for every change and every log line", async () => {
    const setup = bench();
    const { out, text } = collector();
    const printer = startPlainPrinter({ store: setup.store, logs: setup.logs, holdReason: setup.holdReason, out, format: "text", now: setup.now });
    await failingIteration(setup);
    printer.stop();
    expect(text().split("\n")).toEqual([
      "2025-06-01T12:00:00.000Z waiting: cluster not ready",
      "2025-06-01T12:00:00.000Z cluster starting: creating kind cluster mlkube",
      "2025-06-01T12:00:20.000Z cluster ready: kind mlkube, context kind-mlkube; delivery load (the cluster announces no registry)",
      "2025-06-01T12:00:20.000Z endpoint http://127.0.0.1:30080",
      "2025-06-01T12:00:20.000Z #1 started: start (build, deliver, apply, rollout, test)",
      "2025-06-01T12:00:20.000Z #1 build started",
      "2025-06-01T12:00:20.100Z #1 build 1/9 step 1/9 FROM python:3.12-slim",
      // 2/9 came 200 ms later: progress is throttled to one line a second per stage.
      "2025-06-01T12:00:21.200Z #1 build 5/9 step 5/9 RUN pip install",
      "2025-06-01T12:00:24.100Z #1 build done in 4.1s: iris:3f2a built",
      "2025-06-01T12:00:24.100Z #1 deliver started",
      "2025-06-01T12:00:36.100Z #1 deliver done in 12.0s: loaded into 1 node",
      "2025-06-01T12:00:36.300Z #1 apply started",
      "2025-06-01T12:00:36.300Z #1 apply done in 200ms: 2 objects",
      "2025-06-01T12:00:36.300Z #1 rollout started",
      // In the order things happened: the new version serves, which ends the rollout stage.
      "2025-06-01T12:00:38.300Z serving iris:3f2a",
      "2025-06-01T12:00:38.300Z #1 rollout done in 2.0s: ready 1/1",
      "2025-06-01T12:00:38.300Z #1 test started",
      "2025-06-01T12:00:38.350Z #1 tests: 1 passed, 1 failed",
      "2025-06-01T12:00:38.350Z #1 test pass setosa (12ms)",
      "2025-06-01T12:00:38.350Z #1 test FAIL virginica (15ms)",
      '2025-06-01T12:00:38.350Z #1 test FAIL virginica: label expected "virginica", actual "versicolor"',
      "2025-06-01T12:00:38.350Z #1 test FAILED after 50ms: 1 of 2 smoke test(s) failed: virginica",
      "2025-06-01T12:00:38.350Z problem in test: 1 of 2 smoke test(s) failed: virginica",
      "2025-06-01T12:00:38.350Z   fix: Compare the prediction with mlkube.yaml tests[1].",
      "2025-06-01T12:00:38.350Z #1 finished: failed after 18.4s (build 4.1s, deliver 12.0s, apply 200ms, rollout 2.0s, test 50ms), tests 1/2 passed",
      // The log line was appended during the rollout; the printer reads logs when the store says so (or on stop).
      "2025-06-01T12:00:38.350Z iris-7d9f-x2k4q/model | Uvicorn running on http://0.0.0.0:8080",
      "",
    ]);
  });

  it("an endpoint reached another way than the plain one says why, in text and JSON", async () => {
    const reason = "a 'minikube service iris --url' tunnel, open while mlkube runs: the node IP is out of reach (Docker Desktop runs the engine in a VM)";
    const lines: Record<string, string> = {};
    for (const format of ["text", "json"] as const) {
      const setup = bench();
      const { out, text } = collector();
      const printer = startPlainPrinter({ store: setup.store, logs: setup.logs, holdReason: setup.holdReason, out, format, now: setup.now });
      await setup.at(0, {
        type: "cluster/ready",
        info: { provider: "minikube", name: "ml", context: "ml", deliveryPath: "in-cluster-engine", deliveryReason: "minikube runs the docker runtime" },
      });
      await setup.at(0, { type: "endpoint/changed", url: "http://127.0.0.1:51002", via: "tunnel", reason });
      printer.stop();
      lines[format] =
        text()
          .split("\n")
          .find((line) => line.includes("51002")) ?? "";
    }
    expect(lines.text).toBe(`2025-06-01T12:00:00.000Z endpoint http://127.0.0.1:51002 (${reason})`);
    expect(JSON.parse(lines.json ?? "")).toMatchObject({ type: "endpoint", url: "http://127.0.0.1:51002", reason });
  });

  it("json: one event per line with a stable vocabulary", async () => {
    const setup = bench();
    const { out, text } = collector();
    const printer = startPlainPrinter({ store: setup.store, logs: setup.logs, holdReason: setup.holdReason, out, format: "json", now: setup.now });
    await failingIteration(setup);
    printer.stop();
    const events = text()
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(events.map((event) => event["type"])).toEqual([
      "hold",
      "cluster.progress",
      "cluster.ready",
      "endpoint",
      "iteration.started",
      "stage.started",
      "stage.progress",
      "stage.progress",
      "stage.done",
      "stage.started",
      "stage.done",
      "stage.started",
      "stage.done",
      "stage.started",
      "serving",
      "stage.done",
      "stage.started",
      "tests.result",
      "stage.failed",
      "problem",
      "iteration.finished",
      "log",
    ]);
    expect(events[4]).toEqual({ ts: "2025-06-01T12:00:20.000Z", type: "iteration.started", iteration: 1, trigger: "start", stages: STAGES });
    expect(events[6]).toEqual({
      ts: "2025-06-01T12:00:20.100Z",
      type: "stage.progress",
      iteration: 1,
      stage: "build",
      detail: "step 1/9 FROM python:3.12-slim",
      current: 1,
      total: 9,
    });
    expect(events[8]).toEqual({ ts: "2025-06-01T12:00:24.100Z", type: "stage.done", iteration: 1, stage: "build", ms: 4_100, detail: "iris:3f2a built" });
    expect(events[17]).toMatchObject({ type: "tests.result", iteration: 1, passed: 1, failed: 1, changes: [] });
    expect(events[19]).toEqual({
      ts: "2025-06-01T12:00:38.350Z",
      type: "problem",
      stage: "test",
      message: "1 of 2 smoke test(s) failed: virginica",
      details: [],
      hint: "Compare the prediction with mlkube.yaml tests[1].",
    });
    expect(events[20]).toEqual({
      ts: "2025-06-01T12:00:38.350Z",
      type: "iteration.finished",
      iteration: 1,
      trigger: "start",
      result: "failed",
      totalMs: 18_350,
      stageMs: { build: 4_100, deliver: 12_000, apply: 200, rollout: 2_000, test: 50 },
      image: "iris:3f2a",
      deliveryPath: "load",
      testsPassed: 1,
      testsFailed: 1,
    });
    expect(events[21]).toEqual({
      ts: "2025-06-01T12:00:38.350Z",
      type: "log",
      pod: "iris-7d9f-x2k4q",
      container: "model",
      time: "2025-06-01T12:00:37.000Z",
      text: "Uvicorn running on http://0.0.0.0:8080",
      kind: "log",
    });
  });

  it("prints every action's events, also many dispatched in one burst (which one look at the state would fold into one)", async () => {
    const setup = bench();
    const { out, text } = collector();
    const printer = startPlainPrinter({ store: setup.store, logs: setup.logs, holdReason: () => undefined, out, format: "json", now: setup.now });
    // All in one tick: the store tells its state subscribers once.
    for (const detail of [
      "context 'dev@team': existing cluster",
      "this user may not list events in namespace ml",
      "this user may not list pods in all namespaces",
    ]) {
      setup.store.dispatch({ type: "cluster/progress", detail });
    }
    setup.store.dispatch({
      type: "cluster/ready",
      info: { provider: "minikube", name: "minikube", context: "minikube", deliveryPath: "in-cluster-engine", deliveryReason: "docker runtime" },
    });
    setup.store.dispatch({ type: "iteration/started", id: 1, changes: { ...EMPTY_CHANGES, tests: true }, stages: ["test"], at: T0 });
    setup.store.dispatch({ type: "stage/started", id: 1, stage: "test", at: T0 });
    setup.store.dispatch({ type: "tests/result", id: 1, tests: [], changes: [] });
    setup.store.dispatch({ type: "stage/done", id: 1, stage: "test", at: T0 + 5, detail: "no smoke tests configured" });
    setup.store.dispatch({ type: "iteration/finished", id: 1, at: T0 + 5, result: "success" });
    await Promise.resolve();
    printer.stop();
    const events = text()
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { type: string; detail?: string });
    expect(events.map((event) => event.type)).toEqual([
      "cluster.progress",
      "cluster.progress",
      "cluster.progress",
      "cluster.ready",
      "iteration.started",
      "stage.started",
      "tests.result",
      "stage.done",
      "iteration.finished",
    ]);
    expect(events.slice(0, 3).map((event) => event.detail)).toEqual([
      "context 'dev@team': existing cluster",
      "this user may not list events in namespace ml",
      "this user may not list pods in all namespaces",
    ]);
  });

  it("a watcher failure (the kernel's watch limit) is printed as watch.failed and a problem, in text and JSON", async () => {
    for (const format of ["text", "json"] as const) {
      const setup = bench();
      const { out, text } = collector();
      const printer = startPlainPrinter({ store: setup.store, logs: setup.logs, holdReason: () => undefined, out, format, now: setup.now });
      await setup.at(0, {
        type: "cluster/ready",
        info: { provider: "kind", name: "mlkube", context: "kind-mlkube", deliveryPath: "registry", deliveryReason: "r" },
      });
      await setup.at(5_000, {
        type: "watch/failed",
        polling: true,
        problem: {
          stage: "watch",
          message: "File watching hit the kernel's limit: ENOSPC: System limit for number of file watchers reached.",
          details: [],
          hint: "Raise the limit: sudo sysctl fs.inotify.max_user_watches=524288",
        },
      });
      printer.stop();
      if (format === "text") {
        expect(text()).toContain(
          "2025-06-01T12:00:05.000Z watch FAILED: File watching hit the kernel's limit: ENOSPC: System limit for number of file watchers reached. (now watching by polling)",
        );
        expect(text()).toContain("2025-06-01T12:00:05.000Z problem in watch: File watching hit the kernel's limit");
        expect(text()).toContain("fix: Raise the limit: sudo sysctl fs.inotify.max_user_watches=524288");
      } else {
        const events = text()
          .trim()
          .split("\n")
          .map((line) => JSON.parse(line) as { type: string });
        expect(events).toContainEqual(expect.objectContaining({ type: "watch.failed", watching: "polling" }));
        expect(events).toContainEqual(expect.objectContaining({ type: "problem", stage: "watch" }));
      }
    }
  });

  it("pauses reading logs while the output pushes back, and reports what the store had to drop", async () => {
    vi.useFakeTimers(); // the log store tells its readers on a timer
    const setup = bench();
    const logs = new LogStore({ capacity: 10, notifyIntervalMs: 0 });
    const chunks: string[] = [];
    const pendingCallbacks: (() => void)[] = [];
    // A pipe that takes one write and then makes the printer wait until the test drains it.
    const out = new Writable({
      highWaterMark: 1,
      write(chunk: Buffer, _encoding, callback) {
        chunks.push(chunk.toString());
        pendingCallbacks.push(callback);
      },
    });
    const printer = startPlainPrinter({ store: setup.store, logs, holdReason: () => undefined, out, format: "text", now: setup.now });
    for (let index = 1; index <= 5; index++) logs.append({ pod: "p", container: "c", text: `first ${index}`, time: "t" });
    await vi.advanceTimersByTimeAsync(10);
    for (let index = 1; index <= 25; index++) logs.append({ pod: "p", container: "c", text: `flood ${index}`, time: "t" });
    await vi.advanceTimersByTimeAsync(10);
    expect(chunks.join("")).not.toContain("flood");
    while (pendingCallbacks.length > 0) pendingCallbacks.shift()?.();
    await vi.advanceTimersByTimeAsync(10);
    printer.stop();
    const printed = chunks.join("").split("\n");
    expect(printed).toContain("2025-06-01T12:00:00.000Z logs: 15 lines dropped (the output could not keep up)");
    expect(printed.filter((line) => line.includes("| flood"))).toHaveLength(10);
    expect(printed.at(-2)).toContain("flood 25");
  });
});

describe("plain printer: throttled progress", () => {
  // The throttle runs on the clock and a timer: both fake, moved by the test.
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  /** A JSON printer throttling progress to one line per 100 ms, with a rollout stage running. */
  function rolloutPrinter() {
    const store = new Store<DevState, DevAction>(initialState({ name: "iris", dir: "/models/iris" }), reduce);
    const { out, text } = collector();
    const printer = startPlainPrinter({ store, logs: new LogStore(), holdReason: () => undefined, out, format: "json", progressIntervalMs: 100 });
    store.dispatch({ type: "iteration/started", id: 1, changes: { ...EMPTY_CHANGES, force: true }, stages: ["rollout"], at: Date.now() });
    store.dispatch({ type: "stage/started", id: 1, stage: "rollout", at: Date.now() });
    /** Dispatches, then lets the store's once-per-burst notification run. */
    const dispatch = async (action: DevAction) => {
      store.dispatch(action);
      await vi.advanceTimersByTimeAsync(0);
    };
    return { printer, text, dispatch };
  }

  it("prints the newest held-back progress when its interval ends, so a detail that then stays put is not lost", async () => {
    const { printer, text, dispatch } = rolloutPrinter();
    await dispatch({ type: "stage/progress", id: 1, stage: "rollout", detail: "ready 0/1: the Deployment controller to start the new version" });
    await dispatch({ type: "stage/progress", id: 1, stage: "rollout", detail: "ready 0/1: pod p: unschedulable (node not ready)" });
    const details = () =>
      text()
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line) as { type: string; detail?: string })
        .filter((event) => event.type === "stage.progress")
        .map((event) => event.detail);
    expect(details()).toEqual(["ready 0/1: the Deployment controller to start the new version"]);
    await vi.advanceTimersByTimeAsync(99);
    expect(details()).toEqual(["ready 0/1: the Deployment controller to start the new version"]);
    await vi.advanceTimersByTimeAsync(1);
    expect(details()).toEqual(["ready 0/1: the Deployment controller to start the new version", "ready 0/1: pod p: unschedulable (node not ready)"]);
    printer.stop();
  });

  it("drops held-back progress once the stage is done", async () => {
    const { printer, text, dispatch } = rolloutPrinter();
    await dispatch({ type: "stage/progress", id: 1, stage: "rollout", detail: "first" });
    await dispatch({ type: "stage/progress", id: 1, stage: "rollout", detail: "second" });
    await dispatch({ type: "stage/done", id: 1, stage: "rollout", at: Date.now(), detail: "ready 1/1" });
    await vi.advanceTimersByTimeAsync(150);
    expect(text()).not.toContain('"detail":"second"');
    printer.stop();
  });
});

describe("plain printer: BuildKit's build steps", () => {
  async function buildWithSteps(format: "text" | "json") {
    const setup = bench();
    const { out, text } = collector();
    const printer = startPlainPrinter({ store: setup.store, logs: setup.logs, holdReason: setup.holdReason, out, format, now: setup.now });
    await setup.at(0, { type: "iteration/started", id: 1, changes: { ...EMPTY_CHANGES, force: true }, stages: ["build"], at: T0 });
    await setup.at(0, { type: "stage/started", id: 1, stage: "build", at: T0 });
    const running = { id: 5, name: "[2/3] RUN pip install -r requirements.txt", status: "running" as const };
    await setup.at(100, {
      type: "stage/progress",
      id: 1,
      stage: "build",
      detail: "step 1/3: FROM python",
      progress: { current: 1, total: 3 },
      step: { id: 4, name: "[1/3] FROM python", status: "cached" },
    });
    // Within the same second as the first: the running detail is throttled, finished steps are not.
    await setup.at(200, {
      type: "stage/progress",
      id: 1,
      stage: "build",
      detail: "step 2/3: RUN pip install -r requirements.txt",
      progress: { current: 2, total: 3 },
      step: running,
    });
    await setup.at(300, {
      type: "stage/progress",
      id: 1,
      stage: "build",
      detail: "step 2/3: RUN pip install -r requirements.txt",
      progress: { current: 2, total: 3 },
      step: { ...running, status: "done", ms: 12_300, bytes: 45_600_000 },
    });
    printer.stop();
    return text();
  }

  it("text: one line per finished step, with cached or its duration and bytes", async () => {
    const lines = (await buildWithSteps("text")).split("\n").map((line) => line.slice(25));
    expect(lines).toContain("#1 build step cached: [1/3] FROM python");
    expect(lines).toContain("#1 build step done in 12.3s: [2/3] RUN pip install -r requirements.txt (45.6 MB)");
    expect(lines.filter((line) => line.startsWith("#1 build 2/3"))).toEqual([]); // the throttled detail
  });

  it("json: stage.progress with step { name, cached, status, ms, bytes }", async () => {
    const events = (await buildWithSteps("json"))
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const steps = events.filter((event) => event.type === "stage.progress" && event.step).map((event) => event.step);
    expect(steps).toEqual([
      { name: "[1/3] FROM python", cached: true, status: "cached" },
      { name: "[2/3] RUN pip install -r requirements.txt", cached: false, status: "done", ms: 12_300, bytes: 45_600_000 },
    ]);
  });
});
