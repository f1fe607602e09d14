/** mlkube's side: `mlkube dev --json` running, edits written, iterations read from its events. */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { BASE_IMAGE } from "../test/support/engine.js";
import { DevProcess, type DevEvent } from "../test/e2e/support/dev-process.js";
import { applyEdit, type ChangeKind, type ModelVariants } from "./workspace.js";

const ITERATION_TIMEOUT_MS = 300_000;

export interface IterationRecord {
  result: string;
  totalMs: number;
  stageMs: Record<string, number>;
  trigger: string;
  /** `route.kind` of its `iteration.started` ("sync" or "rebuild"), and the stages it announced. */
  route?: string | undefined;
  stages?: string[] | undefined;
  /** The sync stage's detail: how the server restarted ("app.py to 1 pod, warm fork in 42 ms"). */
  syncDetail?: string | undefined;
  /** Why the bench does not count it although mlkube reported it (took the wrong route, served an old version). */
  invalid?: string | undefined;
}

/** The route each arm measures: the rebuild arms run with --no-live, the live runs must sync. */
export type Route = "rebuild" | "sync";

export interface StartedDev {
  dev: DevProcess;
  /** Process start to the first build's `stage.started` (the cluster already exists). */
  toFirstBuildMs: number;
  first: IterationRecord;
}

/**
 * Starts `mlkube dev --json` on an existing cluster and waits for its first iteration. The rebuild
 * arms pass `live: false` (`--no-live`): every change then rebuilds, as before live update. `env`
 * is added to the bench's environment (the soak turns on the diagnostics event).
 */
export async function startDev(dir: string, options: { live: boolean; env?: NodeJS.ProcessEnv }): Promise<StartedDev> {
  const spawnedAt = Date.now();
  const dev = new DevProcess(["dev", "--json", ...(options.live ? [] : ["--no-live"]), "--build-arg", `BASE_IMAGE=${BASE_IMAGE}`, dir], options.env);
  const build = await dev.waitFor((event) => event.type === "stage.started" && event.stage === "build", 120_000, 0, "the first build to start");
  const toFirstBuildMs = Date.parse(String(build.ts)) - spawnedAt;
  const first = record(await dev.waitFor((event) => event.type === "iteration.finished", ITERATION_TIMEOUT_MS, 0, "the first iteration"));
  return { dev, toFirstBuildMs, first };
}

function record(event: DevEvent): IterationRecord {
  return {
    result: String(event.result),
    totalMs: Number(event.totalMs),
    stageMs: (event.stageMs ?? {}) as Record<string, number>,
    trigger: String(event.trigger),
  };
}

/**
 * One edit and the iteration it causes; a cancelled iteration is followed to the one that completes.
 * An iteration that did not take `route` is marked invalid: its time belongs to another row.
 */
export async function mlkubeIteration(
  dev: DevProcess,
  dir: string,
  kind: ChangeKind,
  label: string,
  models: ModelVariants,
  route: Route,
): Promise<IterationRecord> {
  const from = dev.mark();
  await applyEdit(dir, kind, label, models);
  const done = await dev.waitFor(
    (event) => event.type === "iteration.finished" && event.result !== "cancelled",
    ITERATION_TIMEOUT_MS,
    from,
    `the iteration after a ${kind} edit`,
  );
  const events = dev.events.slice(from).filter((event) => event.iteration === done.iteration);
  const started = events.find((event) => event.type === "iteration.started");
  const iteration: IterationRecord = {
    ...record(done),
    route: (started?.route as { kind?: string } | undefined)?.kind,
    stages: started?.stages as string[] | undefined,
    syncDetail: events.find((event) => event.type === "stage.done" && event.stage === "sync")?.detail as string | undefined,
  };
  iteration.invalid = routeProblem(
    iteration,
    route,
    events.some((event) => event.type === "iteration.rerouted"),
  );
  return iteration;
}

/** Why an iteration does not belong to a row measuring `route`, or undefined when it does. */
export function routeProblem(iteration: IterationRecord, route: Route, rerouted: boolean): string | undefined {
  const said = `route ${iteration.route ?? "(none)"}, stages ${(iteration.stages ?? []).join(",")}`;
  if (route === "sync") {
    if (iteration.route !== "sync" || rerouted || iteration.stages?.join(",") !== "sync,test")
      return `did not take the sync route (${said}${rerouted ? ", rerouted to a rebuild" : ""})`;
  } else if (iteration.route !== "rebuild" || !iteration.stages?.includes("build")) {
    return `did not rebuild (${said})`;
  }
  return undefined;
}

export interface BurstResult {
  writes: number;
  /** How long the writes took: the issue asks for all of them within one second. */
  writeMs: number;
  iterations: number;
  cancelled: number;
  results: string[];
  triggers: string[];
}

/**
 * Many saves of app.py within a second (an editor's autosave, a formatter, a git checkout), then
 * waits until the loop has been idle for `quietMs`: every iteration it started is counted.
 */
export async function burst(dev: DevProcess, dir: string, writes: number, label: string, quietMs = 10_000): Promise<BurstResult> {
  const path = join(dir, "app.py");
  const base = await readFile(path, "utf8");
  const from = dev.mark();
  const startedAt = Date.now();
  for (let write = 0; write < writes; write++) await writeFile(path, base.replace(/^BENCH_EDIT = .*$/m, `BENCH_EDIT = "${label}-${write}"`));
  const writeMs = Date.now() - startedAt;
  await dev.waitFor((event) => event.type === "iteration.started", 60_000, from, "an iteration after the burst");
  // Idle = every started iteration finished and no iteration event for quietMs (log lines keep
  // arriving meanwhile: they do not count).
  const iterationEvents = () => dev.events.slice(from).filter((event) => event.type === "iteration.started" || event.type === "iteration.finished");
  let lastCount = -1;
  let quietSince = Date.now();
  for (;;) {
    const events = iterationEvents();
    const started = events.filter((event) => event.type === "iteration.started").length;
    const finished = events.length - started;
    if (events.length !== lastCount || started !== finished) {
      lastCount = events.length;
      quietSince = Date.now();
    } else if (Date.now() - quietSince >= quietMs) break;
    if (Date.now() - startedAt > ITERATION_TIMEOUT_MS * 2) break;
    await sleep(250);
  }
  const events = dev.events.slice(from);
  const finished = events.filter((event) => event.type === "iteration.finished");
  return {
    writes,
    writeMs,
    iterations: events.filter((event) => event.type === "iteration.started").length,
    cancelled: finished.filter((event) => event.result === "cancelled").length,
    results: finished.map((event) => String(event.result)),
    triggers: events.filter((event) => event.type === "iteration.started").map((event) => String(event.trigger)),
  };
}
