import { render } from "ink-testing-library";
import stringWidth from "string-width";
import { afterEach, describe, expect, it } from "vitest";
import { EMPTY_CHANGES } from "../../src/core/dev/changes.js";
import {
  initialState,
  reduce,
  type ClusterInfo,
  type DevAction,
  type DevState,
  type Iteration,
  type IterationSummary,
  type ProblemReport,
} from "../../src/core/dev/state.js";
import { LogStore } from "../../src/engine/log-store.js";
import { Store } from "../../src/engine/store.js";
import type { ReactElement } from "react";
import { DevApp } from "../../src/ui/dev/app.js";
import { layoutRows } from "../../src/ui/dev/layout.js";
import { cleanLogText, fitWidth, formatMs, sparkline, wrapText } from "../../src/ui/dev/format.js";
import { Header, headerRows, type HeaderSlice } from "../../src/ui/dev/header.js";
import { History, historyRows } from "../../src/ui/dev/history.js";
import { ClockContext } from "../../src/ui/dev/hooks.js";
import { Pipeline, pipelineRows } from "../../src/ui/dev/pipeline.js";
import { SmokeTests, smokeTestRows } from "../../src/ui/dev/smoke-tests.js";
import { ColorsProvider } from "../../src/ui/dev/theme.js";

const NOW = 1_750_000_000_000;

const cluster: ClusterInfo = {
  provider: "kind",
  name: "mlkube",
  context: "kind-mlkube",
  deliveryPath: "registry",
  deliveryReason: "the cluster announces a registry at localhost:5001 (kube-public/local-registry-hosting); only changed layers move",
  endpoint: "http://127.0.0.1:30080",
};

function readyState(change: Partial<DevState> = {}): DevState {
  return {
    ...initialState({ name: "iris-classifier", dir: "/models/iris" }),
    cluster: { status: "ready", info: cluster },
    pending: EMPTY_CHANGES,
    serving: "localhost:5001/iris:3f2a9c",
    nextId: 4,
    ...change,
  };
}

function iteration(change: Partial<Iteration> = {}): Iteration {
  return {
    id: 3,
    trigger: "app.py changed",
    changes: { ...EMPTY_CHANGES, build: true, paths: ["app.py"], firstEventAt: NOW - 9_000 },
    startedAt: NOW - 8_800,
    stages: [
      { stage: "build", status: "running", startedAt: NOW - 3_000, detail: "step 4/9 RUN pip install -r requirements.txt", progress: { current: 4, total: 9 } },
      { stage: "deliver", status: "pending" },
      { stage: "apply", status: "pending" },
      { stage: "rollout", status: "pending" },
      { stage: "test", status: "pending" },
    ],
    ...change,
  };
}

const testsProblem: ProblemReport = { stage: "test", message: "1 of 2 smoke test(s) failed: virginica", details: [] };

const failedTests = iteration({
  result: "failed",
  finishedAt: NOW,
  stages: [
    { stage: "build", status: "done", startedAt: NOW - 8_000, finishedAt: NOW - 4_000, detail: "iris:3f2a9c" },
    { stage: "deliver", status: "done", startedAt: NOW - 4_000, finishedAt: NOW - 3_000, detail: "3 layers pushed" },
    { stage: "apply", status: "done", startedAt: NOW - 3_000, finishedAt: NOW - 2_800 },
    { stage: "rollout", status: "done", startedAt: NOW - 2_800, finishedAt: NOW - 1_000, detail: "ready 2/2" },
    { stage: "test", status: "failed", startedAt: NOW - 1_000, finishedAt: NOW },
  ],
  tests: [
    { name: "setosa", passed: true, latencyMs: 12 },
    { name: "virginica", passed: false, latencyMs: 15, failures: [{ what: "label", expected: '"virginica"', actual: '"versicolor"' }] },
  ],
  testChanges: ['virginica: label "virginica" -> "versicolor" (was passing)', "setosa latency 8ms -> 12ms"],
  problem: testsProblem,
});

function summary(id: number, totalMs: number, result: IterationSummary["result"] = "success"): IterationSummary {
  return {
    id,
    trigger: id === 1 ? "start" : "app.py changed",
    image: `iris:${id}`,
    deliveryPath: "registry",
    stageMs: { build: totalMs / 2, deliver: 400, rollout: 1_200, test: 90 },
    totalMs,
    result,
    testsPassed: 2,
    testsFailed: 0,
  };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

async function renderState(state: DevState, options: { hold?: string; columns?: number; rows?: number; colors?: boolean } = {}) {
  const store = new Store<DevState, DevAction>(state, reduce);
  const app = render(
    <DevApp store={store} logs={new LogStore()} holdReason={() => options.hold} onQuit={() => {}} colors={options.colors ?? false} now={() => NOW} />,
  );
  if (options.columns !== undefined || options.rows !== undefined) {
    Object.defineProperty(app.stdout, "columns", { value: options.columns ?? 100, configurable: true });
    Object.defineProperty(app.stdout, "rows", { value: options.rows ?? 40, configurable: true });
    app.stdout.emit("resize");
  }
  await settle();
  return { ...app, store, frame: () => app.lastFrame() ?? "" };
}

const lines = (frame: string) => frame.split("\n");

/**
 * The columns a line takes in a terminal that sizes characters by wcwidth (tmux, VTE, xterm): a
 * tab moves to the next multiple of 8, a presentation selector takes none.
 */
function terminalWidth(line: string): number {
  let width = 0;
  for (const part of line.replace(/\uFE0F/g, "").split(/(\t)/)) width = part === "\t" ? (Math.floor(width / 8) + 1) * 8 : width + stringWidth(part);
  return width;
}

/** Lines wider than the screen, broken characters, and box lines whose right border is out of place. */
function boxDefects(frame: string, columns: number): string[] {
  const rows = lines(frame);
  // eslint-disable-next-line no-control-regex -- control characters are what the check looks for
  const controlCharacter = /[\x00-\x08\x0b-\x1f]/;
  const defects = rows.filter(
    (line) =>
      terminalWidth(line) > columns ||
      /\uFFFD|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(line) ||
      controlCharacter.test(line),
  );
  const top = rows.findIndex((line) => line.startsWith("╭"));
  const bottom = rows.findIndex((line) => line.startsWith("╰"));
  if (top === -1 || bottom < top) return [...defects, "no box"];
  for (const line of rows.slice(top, bottom + 1)) {
    if (terminalWidth(line.trimEnd()) !== columns || !/[│╮╯]$/.test(line.trimEnd())) defects.push(line);
  }
  return defects;
}

describe("dev UI sections from fixed states", () => {
  let cleanup: (() => void) | undefined;
  afterEach(() => {
    cleanup?.();
    cleanup = undefined;
  });
  const show = async (...args: Parameters<typeof renderState>) => {
    const app = await renderState(...args);
    cleanup = app.unmount;
    return app;
  };

  it.each([
    [120, 40],
    [60, 15],
    [40, 8],
  ])("the frame at %ix%i is exactly one row short of the screen: it covers what was printed before, and never scrolls", async (columns, rows) => {
    const frame = (await show({ ...readyState(), current: failedTests, problem: testsProblem }, { columns, rows })).frame();
    expect(lines(frame)).toHaveLength(rows - 1);
    expect(lines(frame)[0]).toContain("iris-classifier");
  });

  it("header: an engine outage turns it red with the cause, and it recovers by itself", async () => {
    const app = await show(readyState(), { rows: 40 });
    app.store.dispatch({ type: "health/engine", up: false, cause: "ENOENT /var/run/docker.sock", at: NOW });
    await settle();
    const first = lines(app.frame())[0] ?? "";
    expect(first).toContain("✗ the Docker engine does not answer (ENOENT /var/run/docker.sock)");
    expect(first).not.toContain("kind mlkube context");
    app.store.dispatch({ type: "health/engine", up: true, at: NOW });
    await settle();
    expect(lines(app.frame())[0]).toContain("kind mlkube context kind-mlkube");
  });

  it("header: a deleted cluster is offered for re-creation in a terminal", async () => {
    const state = {
      ...readyState(),
      health: { engine: { status: "ok" as const }, cluster: { status: "deleted" as const, since: NOW }, recreate: "offer" as const },
    };
    const frame = (await show(state, { rows: 40 })).frame();
    expect(lines(frame)[0]).toContain("✗ the cluster was deleted: press y to re-create it");
  });

  it("header: model, cluster and context, delivery path, endpoint, serving image", async () => {
    const frame = (await show(readyState(), { rows: 40 })).frame();
    expect(frame).toContain("iris-classifier");
    expect(frame).toContain("kind mlkube context kind-mlkube");
    expect(frame).toContain("delivery registry");
    expect(frame).toContain("endpoint http://127.0.0.1:30080");
    expect(frame).toContain("serving localhost:5001/iris:3f2a9c");
    // The reason appears only when asked for (the `d` key).
    expect(frame).not.toContain("announces a registry");
  });

  it("header: a starting cluster shows its progress", async () => {
    const frame = (await show(readyState({ cluster: { status: "starting", detail: "creating kind cluster mlkube" } }), { rows: 40 })).frame();
    expect(frame).toContain("cluster starting: creating kind cluster mlkube");
    expect(frame).toContain("delivery -");
  });

  it("pipeline: the running stage with its progress bar, detail and time; pending stages listed", async () => {
    const frame = (await show(readyState({ current: iteration() }), { rows: 40 })).frame();
    expect(frame).toContain("#3 app.py changed");
    const build = lines(frame).find((line) => line.includes("build"));
    expect(build).toMatch(/build\s+█████░░░░░░░ 4\/9 step 4\/9 RUN pip install -r requirements\.txt\s+3\.0s/);
    for (const stage of ["deliver", "apply", "rollout", "test"]) expect(lines(frame).some((line) => line.includes(`· ${stage}`))).toBe(true);
  });

  it("pipeline: a finished build names its slowest step, so the user sees which layer is slow", async () => {
    const steps = [
      { id: 4, name: "[1/6] FROM python", status: "cached" as const },
      { id: 7, name: "[4/6] RUN pip install -r requirements.txt", status: "done" as const, ms: 12_300 },
      { id: 9, name: "[6/6] COPY model.pkl app.py ./", status: "done" as const, ms: 1_400 },
    ];
    const done = iteration({
      stages: [
        { stage: "build", status: "done", startedAt: NOW - 14_000, finishedAt: NOW - 1_000, detail: "1/6 steps from cache", steps },
        { stage: "deliver", status: "running", startedAt: NOW - 1_000 },
      ],
    });
    const build = lines((await show(readyState({ current: done }), { rows: 40, columns: 120 })).frame()).find((line) => line.includes("build"));
    expect(build).toMatch(/✓ build\s+1\/6 steps from cache · slowest: \[4\/6\] RUN pip install -r requirements\.txt 12\.3s\s+13\.0s/);
  });

  it("pipeline: the planner's hold reason", async () => {
    const frame = (await show(readyState({ current: iteration() }), { hold: "queued: runs after iteration #3", rows: 40 })).frame();
    expect(frame).toContain("» queued: runs after iteration #3");
  });

  it("smoke tests: pass and fail with latency, expected and actual side by side, what changed", async () => {
    const frame = (await show(readyState({ current: failedTests, problem: testsProblem }), { rows: 40 })).frame();
    expect(frame).toContain("tests 1 passed · 1 failed");
    expect(frame).toMatch(/✓ setosa\s+12ms/);
    expect(frame).toMatch(/✗ virginica\s+15ms/);
    const sideBySide = lines(frame).find((line) => line.includes("expected"));
    expect(sideBySide).toMatch(/label\s+expected "virginica"\s+actual "versicolor"/);
    expect(frame).toContain("Δ setosa latency 8ms -> 12ms");
    expect(frame).toContain("✗ failed after 9.0s");
  });

  it("smoke tests: expected and actual stack on a narrow screen", async () => {
    const frame = (await show(readyState({ current: failedTests, problem: testsProblem }), { columns: 50, rows: 40 })).frame();
    const expected = lines(frame).findIndex((line) => line.includes('expected "virginica"'));
    expect(lines(frame)[expected + 1]).toContain('actual   "versicolor"');
  });

  it("history: one row per iteration and a sparkline of the totals", async () => {
    const history = [summary(1, 8_000), summary(2, 6_100), summary(3, 12_000, "failed"), summary(4, 7_000)];
    const frame = (await show(readyState({ history }), { rows: 40 })).frame();
    expect(frame).toContain(`history ${sparkline([8_000, 6_100, 12_000, 7_000])} last 7.0s · best 6.1s`);
    expect(sparkline([8_000, 6_100, 12_000, 7_000])).toBe("▃▁█▂");
    expect(frame).toMatch(/#3 ✗\s+12\.0s\s+app\.py changed\s+build 6\.0s · deliver 400ms · rollout 1\.2s · test 90ms/);
    expect(frame).toMatch(/#1 ✓\s+8\.0s\s+start/);
  });

  it("error panel: message, details and the fix on its own line", async () => {
    const problem: ProblemReport = {
      stage: "build",
      message: "The Dockerfile failed at step 3/9.",
      details: ["RUN pip install -r requirements.txt", "ERROR: No matching distribution found for torch==9.9"],
      hint: "Fix requirements.txt; the loop rebuilds when you save it.",
    };
    const frame = (await show(readyState({ problem }), { rows: 40 })).frame();
    const at = (text: string) => lines(frame).findIndex((line) => line.includes(text));
    expect(at("✗ build: The Dockerfile failed at step 3/9.")).toBeGreaterThan(-1);
    expect(at("ERROR: No matching distribution")).toBeGreaterThan(at("The Dockerfile failed"));
    const fix = lines(frame)[at("→ fix:")];
    expect(fix).toContain("→ fix: Fix requirements.txt; the loop rebuilds when you save it.");
    expect(fix).not.toContain("Dockerfile failed");
    expect(frame).not.toMatch(/\n\s+at .*:\d+:\d+/);
  });

  it("error panel: borders intact for long unbroken, wide and multi-byte text at any width", async () => {
    const url = `https://models.example.com/iris/${"0123456789abcdef".repeat(8)}.bin`;
    const problems: ProblemReport[] = [
      { stage: "build", message: `could not fetch ${url}`, details: [url], hint: `download ${url} by hand` },
      { stage: "build", message: `モデルの読み込みに失敗しました。${"失敗".repeat(50)}`, details: ["漢".repeat(90)], hint: "読み込み ".repeat(20) },
      {
        stage: "build",
        message: `Step 6/9 (line 9: RUN printf '${"x".repeat(50)}🕹️🕹️🕹️ 📦📦📦 👩‍💻👩‍💻 🇩🇪🇩🇪${"y".repeat(60)}) failed`,
        details: ["\tcol\tumns\t", "\x1b[31mred\x1b[0m\r"],
        hint: "e\u0301".repeat(80),
      },
    ];
    for (const problem of problems) {
      for (const columns of [40, 57, 61, 80, 120]) {
        const frame = (await show(readyState({ problem }), { columns, rows: 40 })).frame();
        cleanup?.();
        cleanup = undefined;
        expect(boxDefects(frame, columns), `${columns} columns:\n${frame}`).toEqual([]);
      }
    }
  });

  it("header: a starting cluster's progress takes one row, whatever kind printed", async () => {
    const detail = "kind cluster 'dev': \t✓ Starting control-plane 🕹️ \x1b[32m✓\x1b[0m Installing CNI 🔌" + " 📦".repeat(40);
    const frame = (await show({ ...readyState(), cluster: { status: "starting", detail } }, { columns: 60, rows: 20 })).frame();
    const header = lines(frame).findIndex((line) => line.includes("cluster starting"));
    expect(header).toBeGreaterThan(-1);
    for (const line of lines(frame)) expect(terminalWidth(line), line).toBeLessThanOrEqual(60);
    expect(lines(frame)[header + 1]).toMatch(/^delivery/);
  });

  it("a 40-column terminal keeps every stage's status and no line overflows", async () => {
    const app = await show(readyState({ current: iteration(), history: [summary(1, 8_000), summary(2, 6_100)] }), { hold: "queued: runs after iteration #3" });
    Object.defineProperty(app.stdout, "columns", { value: 40, configurable: true });
    Object.defineProperty(app.stdout, "rows", { value: 14, configurable: true });
    app.stdout.emit("resize");
    await settle();
    const frame = app.frame();
    const live = lines(frame).filter((line) => !/^\s+#\d+ [✓✗]/.test(line)); // the scrollback rows printed once
    for (const line of live) expect([...line].length).toBeLessThanOrEqual(40);
    expect(frame).toMatch(/build\s+4\/9/);
    for (const stage of ["deliver", "apply", "rollout", "test"]) expect(frame).toContain(stage);
    expect(frame).toContain("» queued");
  });

  it("a tiny terminal collapses the pipeline into one line with every status", async () => {
    const frame = (await show(readyState({ current: failedTests }), { columns: 60, rows: 6 })).frame();
    expect(frame).toContain("#3 ✓build ✓deliver ✓apply ✓rollout ✗test");
  });
});

describe("a section's rows and what it renders come from the same slice", () => {
  const headerSlice = (state: DevState, why: boolean): HeaderSlice => ({
    model: state.model.name,
    cluster: state.cluster,
    paused: state.paused,
    serving: state.serving,
    health: state.health,
    live: state.live,
    pruned: state.pruned,
    why,
  });
  const starting = readyState({ cluster: { status: "starting" } });
  const history = (count: number) => Array.from({ length: count }, (_, index) => summary(index + 1, 4_000 + 500 * index));

  // Each case: a slice, the rows the layout asks for it, and the section drawing it in those rows.
  interface Case {
    name: string;
    columns: number;
    rows: number;
    section: (rows: number) => ReactElement;
    /** History shows as many past iterations as it is given rows: its count is a cap. */
    fills?: boolean;
  }
  const cases: Case[] = [
    ...[false, true].flatMap((why) =>
      [120, 50].flatMap((columns) =>
        [readyState(), starting].map((state): Case => {
          const slice = headerSlice(state, why);
          return {
            name: `header: ${state.cluster.status}, why ${why}, ${columns} columns`,
            columns,
            rows: headerRows(slice, columns),
            section: (rows) => <Header {...slice} rows={rows} columns={columns} />,
          };
        }),
      ),
    ),
    ...[undefined, iteration(), failedTests].flatMap((current) =>
      [undefined, "waiting: the Docker engine does not answer"].map((hold): Case => ({
        name: `pipeline: iteration ${current?.result ?? current?.id ?? "none"}, hold ${hold !== undefined}`,
        columns: 100,
        rows: pipelineRows({ current, hold }),
        section: (rows) => <Pipeline current={current} hold={hold} rows={rows} columns={100} />,
      })),
    ),
    ...[120, 60].map((columns): Case => ({
      name: `smoke tests: ${columns} columns`,
      columns,
      rows: smokeTestRows({ current: failedTests }, columns),
      section: (rows) => <SmokeTests current={failedTests} rows={rows} columns={columns} />,
    })),
    ...[0, 3, 8].map((count): Case => ({
      name: `history: ${count} iterations`,
      columns: 100,
      rows: historyRows({ history: history(count) }),
      section: (rows) => <History history={history(count)} rows={rows} columns={100} />,
      fills: true,
    })),
  ];

  it.each(cases)("$name: renders exactly the rows it asks for, nothing left out", async ({ columns, rows, section, fills }) => {
    const draw = async (budget: number) => {
      const app = render(
        <ColorsProvider value={false}>
          <ClockContext.Provider value={() => NOW}>{section(budget)}</ClockContext.Provider>
        </ColorsProvider>,
      );
      await settle();
      const frame = app.lastFrame() ?? "";
      app.unmount();
      return frame;
    };
    const frame = await draw(rows);
    expect(frame === "" ? 0 : lines(frame).length).toBe(rows);
    expect(frame).not.toMatch(/more lines/);
    for (const line of lines(frame)) expect(terminalWidth(line)).toBeLessThanOrEqual(columns);
    // Nothing is cut to fit: more rows than it asks for draw the same.
    if (!fills) expect(await draw(rows + 5)).toBe(frame);
  });
});

describe("layout", () => {
  const needs = { header: 2, pipeline: 6, error: 0, tests: 0, history: 4, help: 0 };

  it("gives the log pane what is left and keeps one row free", () => {
    expect(layoutRows(40, needs)).toEqual({ header: 2, pipeline: 6, footer: 1, error: 0, tests: 0, history: 4, logs: 26, help: 0 });
  });

  it("drops history before the logs, then the logs, on small screens", () => {
    expect(layoutRows(16, needs)).toMatchObject({ history: 0, logs: 6 });
    expect(layoutRows(11, needs)).toMatchObject({ history: 0, logs: 0 });
  });

  it("never hands out more rows than the screen has", () => {
    for (let rows = 1; rows < 50; rows++) {
      const layout = layoutRows(rows, { ...needs, error: 9, tests: 7 });
      const used = layout.header + layout.pipeline + layout.footer + layout.error + layout.tests + layout.history + layout.logs + layout.help;
      expect(used).toBeLessThanOrEqual(Math.max(1, rows - 1));
    }
  });
});

describe("formatting", () => {
  it("formats durations for comparison", () => {
    expect([420, 4_200, 65_000, 3_720_000].map(formatMs)).toEqual(["420ms", "4.2s", "1m05s", "1h02m"]);
  });

  it("makes a pod's log line one plain row", () => {
    expect(cleanLogText("\x1b[31mERROR\x1b[0m\tbad\r\n")).toBe("ERROR  bad");
    expect(cleanLogText(" 10%|█\r 20%|██")).toBe(" 20%|██");
    expect(cleanLogText("a\nb")).toBe("a ⏎ b");
  });

  it("wraps words and cuts words longer than a line", () => {
    expect(wrapText("fix: run kind load docker-image", 12)).toEqual(["fix: run", "kind load", "docker-image"]);
    expect(wrapText("localhost:5001/iris", 8)).toEqual(["localhos", "t:5001/i", "ris"]);
  });

  it("wraps and cuts by columns on the screen, never inside a character", () => {
    // Two columns a character: four fit in nine columns.
    expect(wrapText("失敗しました。", 9)).toEqual(["失敗しま", "した。"]);
    // An emoji's UTF-16 pair and a flag's two code points stay whole; the selector goes (see terminalText).
    expect(wrapText("ab🕹️cd🇩🇪ef", 4)).toEqual(["ab🕹c", "d🇩🇪e", "f"]);
    expect(wrapText("a\tb", 10)).toEqual(["a  b"]);
    expect(fitWidth("漢字のテスト", 7)).toBe("漢字の…");
    expect(fitWidth("漢字のテスト", 8)).toBe("漢字の… ");
    expect(fitWidth("ok", 4)).toBe("ok  ");
  });
});
