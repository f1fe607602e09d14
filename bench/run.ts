/**
 * `npm run bench [-- --quick]`: the dev loop measured on the cluster simulator (see issue #8 and
 * README's Benchmarks section). Benchmarks report; they never fail a build, so only a broken set-up
 * (no engine, no simulator) ends with a non-zero exit. Each part catches its own failure, records
 * it in `errors` and the run goes on.
 *
 * Order: registry cluster (rebuild iterations mlkube/hand alternating, burst, log flood, then live
 * update by warm fork and by re-exec), then a cluster without a registry (whole-image load). One
 * kind cluster at a time: they all map NodePorts 30080-30084 on the host.
 */
import { DEFAULT_DEBOUNCE_MS } from "../src/config/schema.js";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { BASE_IMAGE, docker, removeRepository, REPO_ROOT } from "../test/support/engine.js";
import { mlkube } from "../test/e2e/support/cluster.js";
import type { DevProcess } from "../test/e2e/support/dev-process.js";
import { logFlood } from "./flood.js";
import { compareBuilders } from "./builders.js";
import { deployHand, handIteration, removeHand, type HandTarget } from "./hand.js";
import { acquireLock, releaseLock } from "../test/support/e2e-lock.js";
import { startSimulator, stopSimulator } from "../test/support/sim-session.js";
import { liveRun, RESTART_METHODS, type LiveRecord } from "./live.js";
import { burst, mlkubeIteration, startDev, type IterationRecord } from "./loop.js";
import { describeMachine } from "./machine.js";
import { soakMarkdown } from "./soak-report.js";
import { markdown, RESULTS_DIR, writeReports, type ArmResult, type LiveResult, type Results } from "./report.js";
import { runSoak, type SoakResult, type SoakSettings } from "./soak.js";
import { modelEdits } from "./soak-edits.js";
import { helpTimes } from "./startup.js";
import { mean, percentile, round, summarize } from "./stats.js";
import { applyEdit, CHANGE_KINDS, modelCopy, ModelVariants, type ChangeKind, type ModelCopy } from "./workspace.js";

const quick = process.argv.includes("--quick");
/** `--soak [--iterations N]`: its own mode (bench/soak.ts), nothing else is measured. */
const soakMode = process.argv.includes("--soak");
const iterationsArg = process.argv.indexOf("--iterations");
/**
 * Issue #15: 200 iterations, sampled every 10. Warm-up is the first 20 (two samples): the first
 * rebuilds fill the layer cache, the log stream, pod connections and the V8 heap settle. The pod
 * logs 50 lines/s all along, a busy service rather than the flood part's stress.
 */
const SOAK: SoakSettings = {
  iterations: iterationsArg > 0 ? Number(process.argv[iterationsArg + 1]) : 200,
  warmUp: 20,
  sampleEvery: 10,
  floodRate: 50,
  floodSeconds: 3_600,
};
type Counts = Partial<Record<ChangeKind, number>>;
/**
 * Iterations per change kind and delivery. Every whole-image load costs tens of seconds here, so:
 * the full run keeps 10 where a target depends on it (code by load) and 2 for model and deps by
 * load (the load moves the whole image whatever changed), so it fits in about half an hour;
 * --quick leaves the load cluster out. Live iterations take about a second each: 20 per kind and
 * restart method give the p95 some meaning (5 in --quick).
 */
const SETTINGS = quick
  ? {
      registry: { code: 2, model: 1, deps: 1 } as Counts,
      load: {} as Counts,
      live: { code: 5, model: 5 } as Counts,
      builders: { code: 3, deps: 3 } as Counts,
      burstWrites: 500,
      floodRate: 5_000,
      floodSeconds: 10,
      helpRuns: 5,
    }
  : {
      registry: { code: 10, model: 10, deps: 10 } as Counts,
      load: { code: 10, model: 2, deps: 2 } as Counts,
      live: { code: 20, model: 20 } as Counts,
      builders: { code: 10, deps: 10 } as Counts,
      burstWrites: 500,
      floodRate: 5_000,
      floodSeconds: 60,
      helpRuns: 10,
    };
const REBUILD_STAGES = ["build", "deliver", "apply", "rollout", "test"];
const LIVE_STAGES = ["sync", "test"];

const say = (line: string) => void process.stderr.write(`bench ${new Date().toISOString().slice(11, 19)} ${line}\n`);
const runStart = Date.now();
const nonce = runStart.toString(36);
const errors: string[] = [];
let interrupted = false;
/** Stops the run between steps after Ctrl-C (the signal handler cleans up). */
function checkInterrupted(): void {
  if (interrupted) throw new Error("interrupted");
}
const live: { dev?: DevProcess | undefined; clusters: ModelCopy[]; copies: ModelCopy[]; models?: string } = { clusters: [], copies: [] };

/** Runs one part; a failure is recorded and the run goes on with the next part. */
async function part<T>(name: string, body: () => Promise<T>): Promise<T | undefined> {
  try {
    return await body();
  } catch (error) {
    const message = `${name}: ${error instanceof Error ? error.message : String(error)}`;
    say(`FAILED ${message.split("\n").slice(0, 6).join("\n")}`);
    errors.push(message.slice(0, 2_000));
    return undefined;
  }
}

function simDown(): void {
  try {
    stopSimulator("ignore");
  } catch (error) {
    errors.push(`sim down: ${(error as Error).message}`);
  }
}

interface Arm {
  path: "registry" | "load";
  mlkube: Record<string, IterationRecord[]>;
  hand: Record<string, number[]>;
  handFailures: Record<string, number>;
}

/** One cluster: mlkube and the hand-run alternate, edit by edit, for each kind of change. */
interface ArmHooks {
  /** With `mlkube dev --json` still running, after the iterations. */
  whileRunning?: (dir: string, dev: DevProcess) => Promise<void>;
  /** After that process ended, before the cluster is deleted. */
  afterStop?: (dir: string) => Promise<void>;
}

async function runArm(path: "registry" | "load", counts: Counts, models: ModelVariants, startup: Record<string, number>, hooks: ArmHooks = {}): Promise<Arm> {
  const arm: Arm = { path, mlkube: {}, hand: {}, handFailures: {} };
  const cluster = `bench-${path === "registry" ? "reg" : "load"}-${nonce}`.slice(0, 30);
  const model = await modelCopy(cluster, path === "load" ? "  registry: off\n" : "");
  const handDir = await modelCopy();
  live.clusters.push(model);
  live.copies.push(model, handDir);
  const target: HandTarget = { path, cluster, dir: handDir.dir };
  say(`${path}: creating cluster ${cluster}`);
  try {
    const up = await mlkube(["up", model.dir]);
    if (up.code !== 0) throw new Error(`mlkube up failed: ${up.stdout}${up.stderr}`);
    say(`${path}: mlkube dev, first iteration (moves the whole image)`);
    // --no-live: these arms measure the rebuild path, the baseline live update is compared with.
    const started = await startDev(model.dir, { live: false });
    live.dev = started.dev;
    startup[path] = started.toFirstBuildMs;
    say(`${path}: first iteration ${started.first.result} in ${started.first.totalMs} ms; first build started ${started.toFirstBuildMs} ms after start`);
    say(`${path}: hand-run deployment (first delivery, not measured)`);
    // Without the hand-run deployment mlkube's iterations are still measured (ratios then missing).
    const hand = await deployHand(target, `${nonce}-first`).then(
      () => true,
      (error: unknown) => (errors.push(`hand ${path} deployment: ${(error as Error).message}`), false),
    );
    for (const kind of CHANGE_KINDS) {
      const iterations = counts[kind] ?? 0;
      if (iterations === 0) continue;
      arm.mlkube[kind] = [];
      arm.hand[kind] = [];
      arm.handFailures[kind] = 0;
      for (let index = 0; index < iterations; index++) {
        checkInterrupted();
        const record = await mlkubeIteration(started.dev, model.dir, kind, `${nonce}-${path}-mlkube-${kind}-${index}`, models, "rebuild");
        if (record.invalid) errors.push(`${path} ${kind} #${index}: ${record.invalid}`);
        arm.mlkube[kind]!.push(record);
        await sleep(1_000);
        const label = `${nonce}-${path}-hand-${kind}-${index}`;
        const editedAt = Date.now();
        await applyEdit(handDir.dir, kind, label, models);
        const handMs = !hand
          ? undefined
          : await handIteration(target, label, editedAt).catch((error: unknown) => {
              arm.handFailures[kind]!++;
              errors.push(`hand ${path} ${kind} #${index}: ${(error as Error).message}`);
              return undefined;
            });
        if (handMs !== undefined) arm.hand[kind]!.push(handMs);
        say(`${path} ${kind} #${index + 1}/${iterations}: mlkube ${record.totalMs} ms (${record.result}), hand ${handMs ?? "failed"} ms`);
        await sleep(1_000);
      }
    }
    checkInterrupted();
    await hooks.whileRunning?.(model.dir, started.dev);
    await started.dev.stop();
    live.dev = undefined;
    checkInterrupted();
    await hooks.afterStop?.(model.dir);
  } finally {
    // Also after a failure: the next cluster needs the NodePorts this one maps.
    await live.dev?.stop().catch(() => undefined);
    live.dev = undefined;
    await removeHand(cluster);
    say(`${path}: deleting cluster ${cluster}`);
    await mlkube(["down", "--yes", "--all", model.dir]);
    live.clusters.splice(live.clusters.indexOf(model), 1);
  }
  return arm;
}

/** Successful iterations that took the route their row measures. */
const counted = (record: IterationRecord) => record.result === "success" && !record.invalid;

function armResult(records: IterationRecord[], stages = REBUILD_STAGES): ArmResult {
  const ok = records.filter(counted);
  const totals = ok.map((record) => record.totalMs);
  const meanTotal = mean(totals);
  const stageShare: Record<string, number> = {};
  if (meanTotal) {
    let accounted = 0;
    for (const stage of stages) {
      const share = (mean(ok.map((record) => record.stageMs[stage] ?? 0)) ?? 0) / meanTotal;
      stageShare[stage] = round(share * 100)!;
      accounted += share;
    }
    stageShare.other = round((1 - accounted) * 100)!;
  }
  return { ...summarize(totals), samples: totals, failures: records.length - ok.length, stageShare };
}

async function main(): Promise<void> {
  const machine = describeMachine();
  if (soakMode && !(Number.isInteger(SOAK.iterations) && SOAK.iterations > 0)) throw new Error("--iterations takes a positive whole number");
  say(`${soakMode ? "soak" : quick ? "quick" : "full"} run on ${machine.description}`);
  await acquireLock(say);
  // Waiting for other runs is not part of the benchmark's own duration.
  const lockWaitS = Math.round((Date.now() - runStart) / 1000);
  const measuringFrom = Date.now();
  const mlkubeHome = mkdtempSync(join(tmpdir(), "mlkube-bench-home-"));
  process.env.MLKUBE_HOME = mlkubeHome;
  const onSignal = () => {
    say("interrupted: cleaning up");
    interrupted = true;
    void cleanup().finally(() => process.exit(130));
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  const cleanup = async () => {
    await live.dev?.stop().catch(() => undefined);
    for (const model of live.clusters) await mlkube(["down", "--yes", "--all", model.dir]).catch(() => undefined);
    simDown();
    for (const copy of live.copies) await copy.cleanup().catch(() => undefined);
    if (live.models) rmSync(live.models, { recursive: true, force: true });
    // The hand-run's images (mlkube's own tags are left, as the e2e suites leave theirs to removeRepository).
    for (const repository of ["iris-hand", "localhost:5001/iris-hand"]) await removeRepository(repository).catch(() => undefined);
    rmSync(mlkubeHome, { recursive: true, force: true });
    releaseLock();
  };

  if (soakMode) {
    let soak: SoakResult | undefined;
    try {
      soak = await measureSoak(machine);
    } finally {
      say("cleaning up (cluster, simulator, lock)");
      await cleanup();
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    }
    if (soak) await writeSoak(soak);
    return;
  }

  const startupDev: Record<string, number> = {};
  const arms: Arm[] = [];
  const liveRecords: Record<string, Record<string, LiveRecord[]>> = {};
  let burstResult: Results["burst"] = null;
  let floodResult: Results["logFlood"] = null;
  let helpSamples: number[] = [];
  let builderRows: Results["builders"] = null;
  try {
    say("npm run build (the bench runs dist/cli.js, like a user)");
    execFileSync("npm", ["run", "-s", "build"], { cwd: REPO_ROOT, stdio: ["ignore", "ignore", "inherit"] });
    helpSamples = helpTimes(SETTINGS.helpRuns);
    say(`mlkube --help: ${helpSamples.map((ms) => Math.round(ms)).join(", ")} ms`);
    say("simulator up");
    startSimulator();
    // Each model edit (mlkube's, the hand-run's, each live run's) takes a model never used before.
    const models = await ModelVariants.train(
      2 * ((SETTINGS.registry.model ?? 0) + (SETTINGS.load.model ?? 0)) + RESTART_METHODS.length * (SETTINGS.live.model ?? 0) + 2,
    );
    live.models = models.dir;

    // The builders first: on the engine alone, before any cluster loads the machine.
    say("builders: BuildKit vs classic, build stage only");
    builderRows = (await part("builders", () => compareBuilders(SETTINGS.builders, nonce, models, say))) ?? null;

    // The burst and the log flood run on the registry cluster: its iterations are the short ones.
    const registry = await part("registry arm", () =>
      runArm("registry", SETTINGS.registry, models, startupDev, {
        whileRunning: async (dir, dev) => {
          say(`burst: ${SETTINGS.burstWrites} writes`);
          burstResult = (await part("burst", () => burst(dev, dir, SETTINGS.burstWrites, `${nonce}-burst`))) ?? null;
          say(`burst: ${JSON.stringify(burstResult)}`);
        },
        afterStop: async (dir) => {
          floodResult = (await part("log flood", () => logFlood(dir, SETTINGS.floodRate, SETTINGS.floodSeconds, say))) ?? null;
          say(`log flood: ${JSON.stringify(floodResult)}`);
          // Live update on the same cluster, after the rebuild iterations: warm fork (restart: auto),
          // then re-exec (restart: process written into mlkube.yaml).
          for (const method of RESTART_METHODS) {
            checkInterrupted();
            const records = await part(`live update (${method})`, () =>
              liveRun(dir, method, SETTINGS.live, models, `${nonce}-live-${method.replace(" ", "-")}`, {
                say,
                onDev: (dev) => (live.dev = dev),
                checkInterrupted,
              }),
            );
            if (records) liveRecords[method] = records;
          }
        },
      }),
    );
    if (registry) arms.push(registry);
    if (Object.keys(SETTINGS.load).length > 0) {
      const load = await part("load arm", () => runArm("load", SETTINGS.load, models, startupDev));
      if (load) arms.push(load);
    }
  } finally {
    say("cleaning up (clusters, simulator, lock)");
    await cleanup();
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }

  const results: Results = {
    date: new Date(runStart).toISOString(),
    quick,
    durationS: Math.round((Date.now() - measuringFrom) / 1000),
    lockWaitS,
    machine,
    settings: { ...SETTINGS, baseImage: BASE_IMAGE, debounceMs: DEFAULT_DEBOUNCE_MS, cluster: "simulated kind (test/sim)" },
    editToVerified: {},
    handRun: {},
    ratio: {},
    registrySpeedup: {},
    live: {},
    builders: builderRows,
    burst: burstResult,
    logFlood: floodResult,
    startup: { helpMs: round(percentile(helpSamples, 50)), helpSamples: helpSamples.map((ms) => Math.round(ms)), devToFirstBuildMs: startupDev },
    // The soak is its own run: the last one stays in latest.json, with its date.
    soak: (await previousResults())?.soak ?? null,
    errors,
  };
  for (const arm of arms) {
    for (const [kind, records] of Object.entries(arm.mlkube)) {
      (results.editToVerified[kind] ??= {})[arm.path] = armResult(records);
      const hand = arm.hand[kind] ?? [];
      (results.handRun[kind] ??= {})[arm.path] = { ...summarize(hand), samples: hand, failures: arm.handFailures[kind] ?? 0 };
      // Pairs are the i-th mlkube and i-th hand iteration that both succeeded.
      const pairs = records.flatMap((record, index) =>
        record.result === "success" && hand[index] !== undefined ? [round(record.totalMs / hand[index]!, 2)!] : [],
      );
      (results.ratio[kind] ??= {})[arm.path] = { pairs, p50: round(percentile(pairs, 50), 2) };
    }
  }
  for (const kind of CHANGE_KINDS) {
    const registry = results.editToVerified[kind]?.registry?.p50;
    const load = results.editToVerified[kind]?.load?.p50;
    results.registrySpeedup[kind] = registry && load ? round(load / registry, 2) : null;
  }

  for (const [method, kinds] of Object.entries(liveRecords)) {
    for (const [kind, records] of Object.entries(kinds)) {
      for (const [index, record] of records.entries()) if (record.invalid) errors.push(`live (${method}) ${kind} #${index}: ${record.invalid}`);
      const restartMs = records.filter(counted).flatMap((record) => (record.restartMs === undefined ? [] : [record.restartMs]));
      // The baseline is the rebuild path measured in this run on the same cluster (registry).
      const rebuildP50 = results.editToVerified[kind]?.registry?.p50 ?? null;
      const result: LiveResult = { ...armResult(records, LIVE_STAGES), restartMsP50: round(percentile(restartMs, 50)), rebuildP50, speedup: null };
      result.speedup = rebuildP50 && result.p50 ? round(rebuildP50 / result.p50, 2) : null;
      (results.live![kind] ??= {})[method] = result;
    }
  }

  await mkdir(RESULTS_DIR, { recursive: true });
  const json = `${JSON.stringify(results, null, 2)}\n`;
  await writeFile(`${RESULTS_DIR}latest.json`, json);
  await writeFile(`${RESULTS_DIR}${results.date.slice(0, 19).replace(/:/g, "-")}${quick ? "-quick" : ""}.json`, json);
  await writeReports(results);
  say(`done in ${results.durationS} s: bench/results/latest.json, latest.md, README.md`);
  process.stdout.write(markdown(results));
}

async function previousResults(): Promise<Results | undefined> {
  try {
    return JSON.parse(await readFile(`${RESULTS_DIR}latest.json`, "utf8")) as Results;
  } catch {
    return undefined; // the first run
  }
}

/** The soak on its own registry cluster; the rest of the bench does not run. */
async function measureSoak(machine: ReturnType<typeof describeMachine>): Promise<SoakResult | undefined> {
  say("npm run build (the bench runs dist/cli.js, like a user)");
  execFileSync("npm", ["run", "-s", "build"], { cwd: REPO_ROOT, stdio: ["ignore", "ignore", "inherit"] });
  say("simulator up");
  startSimulator();
  const models = await ModelVariants.train(modelEdits(SOAK.iterations) + 1);
  live.models = models.dir;
  say(`soak: ${SOAK.iterations} iterations, sampled every ${SOAK.sampleEvery}, warm-up ${SOAK.warmUp}`);
  const soak = await part("soak", () =>
    runSoak(SOAK, models, nonce, docker, machine, {
      say,
      onDev: (dev) => (live.dev = dev),
      // Its cluster too, for an interrupted run; runSoak deletes it when it ends.
      onCopy: (copy) => (live.copies.push(copy), live.clusters.push(copy)),
      checkInterrupted,
    }),
  );
  live.clusters.length = 0;
  return soak;
}

/** A dated soak file; latest.json gets the `soak` key and keeps everything else; then the reports. */
async function writeSoak(soak: SoakResult): Promise<void> {
  if (errors.length) soak.errors.push(...errors);
  await mkdir(RESULTS_DIR, { recursive: true });
  await writeFile(`${RESULTS_DIR}${soak.date.slice(0, 19).replace(/:/g, "-")}-soak.json`, `${JSON.stringify(soak, null, 2)}\n`);
  const previous = await previousResults();
  if (!previous) {
    say("no bench/results/latest.json to add the soak to: run `npm run bench` once; the dated soak file is written");
    return;
  }
  const results: Results = { ...previous, soak };
  await writeFile(`${RESULTS_DIR}latest.json`, `${JSON.stringify(results, null, 2)}\n`);
  await writeReports(results);
  say(`soak done: bench/results/latest.json (soak), the dated -soak.json, latest.md, README.md`);
  process.stdout.write(`${soakMarkdown(soak).join("\n")}\n`);
}

main().catch((error: unknown) => {
  say(`error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exitCode = 1;
});
