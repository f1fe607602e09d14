import { describe, expect, it } from "vitest";
import type { BuildStep } from "../../src/adapters/docker/buildkit-progress.js";
import { EMPTY_CHANGES } from "../../src/core/dev/changes.js";
import { initialState, reduce, type DevAction, type DevState, type StepReport } from "../../src/core/dev/state.js";
import { buildStageProgress } from "../../src/commands/dev/build-progress.js";
import { eventsOf } from "../../src/ui/dev/events.js";

const step = (change: Partial<BuildStep> & Pick<BuildStep, "id" | "name" | "status">): BuildStep => change;

describe("the build stage's progress from BuildKit's steps", () => {
  it("shows the running step, reports each step, and leaves out BuildKit's own quick work", () => {
    const calls: [string, { current: number; total: number } | undefined, StepReport | undefined][] = [];
    const progress = buildStageProgress({ progress: (detail, count, report) => calls.push([detail, count, report]) });
    progress.onEvent({ type: "builder", builder: "buildkit", detail: "BuildKit on Docker 20.10.24 through ..." });
    progress.onEvent({ type: "progress", step: step({ id: 1, name: "[internal] load .dockerignore", status: "done", ms: 0 }) });
    progress.onEvent({
      type: "progress",
      step: step({
        id: 7,
        name: "[base 4/5] RUN pip install -r requirements.txt",
        instruction: "RUN pip install -r requirements.txt",
        stage: "base",
        index: 4,
        total: 5,
        status: "running",
      }),
    });
    progress.onEvent({
      type: "progress",
      step: step({
        id: 7,
        name: "[base 4/5] RUN pip install -r requirements.txt",
        instruction: "RUN pip install -r requirements.txt",
        stage: "base",
        index: 4,
        total: 5,
        status: "done",
        ms: 12_300,
      }),
    });
    progress.onEvent({ type: "progress", step: step({ id: 11, name: "exporting to image", status: "done", ms: 2_100 }) });
    expect(calls).toEqual([
      ["BuildKit on Docker 20.10.24 through ...", undefined, undefined],
      [
        "step 4/5 of base: RUN pip install -r requirements.txt",
        { current: 4, total: 5 },
        { id: 7, name: "[base 4/5] RUN pip install -r requirements.txt", status: "running", ms: undefined, bytes: undefined },
      ],
      [
        "step 4/5 of base: RUN pip install -r requirements.txt",
        { current: 4, total: 5 },
        { id: 7, name: "[base 4/5] RUN pip install -r requirements.txt", status: "done", ms: 12_300, bytes: undefined },
      ],
      [
        "step 4/5 of base: RUN pip install -r requirements.txt",
        { current: 4, total: 5 },
        { id: 11, name: "exporting to image", status: "done", ms: 2_100, bytes: undefined },
      ],
    ]);
    expect(progress.builderNote()).toBe("BuildKit on Docker 20.10.24 through ...");
  });
});

describe("finished build steps as stage.progress events", () => {
  const started = (): DevState => {
    let state = initialState({ name: "iris", dir: "/models/iris" });
    state = reduce(state, { type: "iteration/started", id: 1, changes: { ...EMPTY_CHANGES, force: true }, stages: ["build"], at: 0 });
    return reduce(state, { type: "stage/started", id: 1, stage: "build", at: 0 });
  };
  /** The state after a step report, and the events that action made. */
  const progress = (state: DevState, report: StepReport, detail = "step 2/3: WORKDIR /app") => {
    const action: DevAction = { type: "stage/progress", id: 1, stage: "build", detail, progress: { current: 2, total: 3 }, step: report };
    const after = reduce(state, action);
    return { state: after, events: eventsOf(action, state, after) };
  };

  it("tells each step once, when it finished, with cached or not, duration and bytes; the running detail with each report", () => {
    const running = progress(started(), { id: 5, name: "[2/3] WORKDIR /app", status: "running" });
    expect(running.events).toEqual([{ type: "stage.progress", iteration: 1, stage: "build", detail: "step 2/3: WORKDIR /app", current: 2, total: 3 }]);
    const cached = progress(running.state, { id: 5, name: "[2/3] WORKDIR /app", status: "cached" });
    const next = progress(cached.state, { id: 6, name: "[3/3] COPY model.pkl .", status: "running" }, "step 3/3: COPY model.pkl .");
    const done = progress(next.state, { id: 6, name: "[3/3] COPY model.pkl .", status: "done", ms: 1_400, bytes: 512_000_000 }, "step 3/3: COPY model.pkl .");
    expect(cached.events[0]).toEqual({
      type: "stage.progress",
      iteration: 1,
      stage: "build",
      step: { name: "[2/3] WORKDIR /app", cached: true, status: "cached", ms: undefined, bytes: undefined },
    });
    expect(next.events.filter((event) => event.type === "stage.progress" && "step" in event && event.step)).toEqual([]);
    expect(done.events).toEqual([
      {
        type: "stage.progress",
        iteration: 1,
        stage: "build",
        step: { name: "[3/3] COPY model.pkl .", cached: false, status: "done", ms: 1_400, bytes: 512_000_000 },
      },
      { type: "stage.progress", iteration: 1, stage: "build", detail: "step 3/3: COPY model.pkl .", current: 2, total: 3 },
    ]);
  });

  it("starts each build with no steps", () => {
    const { state } = progress(started(), { id: 5, name: "[2/3] WORKDIR /app", status: "cached" });
    expect(reduce(state, { type: "stage/started", id: 1, stage: "build", at: 5 }).current?.stages[0]?.steps).toBeUndefined();
  });
});
