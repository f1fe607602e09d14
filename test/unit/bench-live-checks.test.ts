/**
 * The benchmark's checks that keep its live-update rows honest (issue #11): an iteration counts in
 * a row only if it took that row's route and restart method, and the targets are read from the
 * warm-fork rows.
 */
import { describe, expect, it } from "vitest";
import { restartOf, restartProblem } from "../../bench/live.js";
import { routeProblem, type IterationRecord } from "../../bench/loop.js";
import { markdown, targets, type LiveResult, type Results } from "../../bench/report.js";

const iteration = (route: string | undefined, stages: string[]): IterationRecord => ({
  result: "success",
  totalMs: 600,
  stageMs: {},
  trigger: "app.py changed",
  route,
  stages,
});

describe("routeProblem", () => {
  it("accepts a sync iteration with exactly the sync and test stages", () => {
    expect(routeProblem(iteration("sync", ["sync", "test"]), "sync", false)).toBeUndefined();
  });

  it("rejects a rebuild, a rerouted sync or extra stages in a live row", () => {
    expect(routeProblem(iteration("rebuild", ["build", "deliver", "apply", "rollout", "test"]), "sync", false)).toMatch(
      /did not take the sync route \(route rebuild/,
    );
    expect(routeProblem(iteration("sync", ["sync", "test"]), "sync", true)).toMatch(/rerouted to a rebuild/);
    expect(routeProblem(iteration("sync", ["config", "sync", "test"]), "sync", false)).toMatch(/stages config,sync,test/);
    expect(routeProblem(iteration(undefined, ["sync", "test"]), "sync", false)).toMatch(/route \(none\)/);
  });

  it("rejects a synced iteration in a rebuild row", () => {
    expect(routeProblem(iteration("rebuild", ["build", "deliver", "apply", "rollout", "test"]), "rebuild", false)).toBeUndefined();
    expect(routeProblem(iteration("sync", ["sync", "test"]), "rebuild", false)).toMatch(/did not rebuild/);
  });
});

describe("restartProblem", () => {
  it("reads the method and the supervisor's time from the sync stage's detail", () => {
    expect(restartOf("app.py to 1 pod, warm fork in 42 ms")).toEqual({ method: "warm fork", ms: 42 });
    expect(restartOf("model.pkl to 1 pod, re-exec in 912 ms (restart: process)")).toEqual({ method: "re-exec", ms: 912 });
    expect(restartOf(undefined)).toBeUndefined();
  });

  it("rejects a re-exec in the warm fork row (a fallback) and the reverse", () => {
    expect(restartProblem("app.py to 1 pod, warm fork in 42 ms", "warm fork")).toBeUndefined();
    expect(restartProblem("app.py to 1 pod, re-exec in 900 ms (a forked child crashed twice)", "warm fork")).toMatch(/restarted by re-exec, not warm fork/);
    expect(restartProblem("app.py to 1 pod, warm fork in 42 ms", "re-exec")).toMatch(/restarted by warm fork, not re-exec/);
    expect(restartProblem("app.py to 1 pod, restarted", "re-exec")).toMatch(/an unknown method/);
  });
});

function live(p50: number, rebuildP50: number, speedup: number): LiveResult {
  return {
    n: 5,
    p50,
    p95: p50,
    min: p50,
    max: p50,
    samples: [p50],
    failures: 0,
    stageShare: { sync: 70, test: 20, other: 10 },
    restartMsP50: 40,
    rebuildP50,
    speedup,
  };
}

function results(liveRows: Results["live"]): Results {
  return {
    date: "2026-12-05T10:00:00.000Z",
    quick: true,
    durationS: 300,
    machine: { cpu: "cpu", cores: 2, ramGb: 8, kernel: "k", docker: "d", node: "n", loadAverage: 1, description: "test machine" },
    settings: { baseImage: "base" },
    editToVerified: {},
    handRun: {},
    ratio: {},
    registrySpeedup: {},
    live: liveRows,
    burst: null,
    logFlood: null,
    startup: { helpMs: null, helpSamples: [], devToFirstBuildMs: {} },
    errors: [],
  };
}

describe("live-update targets", () => {
  it("are judged on the warm fork rows, against the issue's aims", () => {
    const rows = results({
      model: { "warm fork": live(500, 4_000, 8), "re-exec": live(1_500, 4_000, 2.67) },
      code: { "warm fork": live(810, 4_000, 4.94), "re-exec": live(1_600, 4_000, 2.5) },
    });
    const byWhat = Object.fromEntries(targets(rows).map((target) => [target.what, target]));
    expect(byWhat["model change, live update (warm fork): edit → verified p50"]).toMatchObject({ measured: "0.50 s", met: true });
    expect(byWhat["code change, live update (warm fork): edit → verified p50"]).toMatchObject({ measured: "0.81 s", met: false });
    expect(byWhat["model change: rebuild p50 / live update (warm fork) p50"]).toMatchObject({ measured: "8x", met: true });
    expect(byWhat["code change: rebuild p50 / live update (warm fork) p50"]).toMatchObject({ measured: "4.94x", met: false });
    expect(markdown(rows)).toContain("| code | re-exec | 1.60 s | 1.60 s | 4.00 s | 2.5x | 40 ms | 5 | 70% / 20% / 10% |");
  });

  it("say 'not measured' for a run without live rows (results from before issue #11)", () => {
    const old = results(undefined);
    expect(
      targets(old)
        .filter((target) => target.what.includes("live update"))
        .map((target) => target.met),
    ).toEqual([null, null, null, null]);
    expect(markdown(old)).not.toContain("Live update (issue #11)");
  });
});
