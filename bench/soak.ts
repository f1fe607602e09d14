/**
 * The soak (issue #15): one `mlkube dev --json` session, live update on as users run it, through
 * many iterations of edits (bench/soak-edits.ts) with the pod's logs flowing all along. Every
 * `sampleEvery` iterations the process and the Docker engine are sampled (bench/soak-sample.ts);
 * growth is measured after warm-up (bench/soak-growth.ts). At the end mlkube is stopped as a user
 * stops it (SIGTERM) and nothing it started may be left running.
 */
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type Dockerode from "dockerode";
import { mlkube } from "../test/e2e/support/cluster.js";
import type { DevEvent, DevProcess } from "../test/e2e/support/dev-process.js";
import { repositoryOf } from "../src/manifests/image-ref.js";
import type { Machine } from "./machine.js";
import { processTree } from "./procfs.js";
import { applySoakEdit, editAt, expectedResult, SOAK_CYCLE, type SoakEdit } from "./soak-edits.js";
import { growthAfterWarmUp, type Growth } from "./soak-growth.js";
import { DIAGNOSTICS_MS, dockerObjects, takeSample, type DockerObjects, type SoakSample } from "./soak-sample.js";
import { startDev } from "./loop.js";
import { percentile } from "./stats.js";
import { modelCopy, type ModelCopy, type ModelVariants } from "./workspace.js";

const MODEL_URL = "http://127.0.0.1:30080";
const ITERATION_TIMEOUT_MS = 300_000;

export interface SoakSettings {
  iterations: number;
  /** Iterations before the reference sample: the first builds, caches and connections settle. */
  warmUp: number;
  sampleEvery: number;
  /** The pod's log flow (POST /flood), started again after every iteration (a restart ends it). */
  floodRate: number;
  floodSeconds: number;
}

export interface SoakIteration {
  iteration: number;
  edit: SoakEdit;
  result: string;
  /** A mistake failed, everything else succeeded. */
  asExpected: boolean;
  totalMs: number;
  route: string | undefined;
  rerouted: boolean;
  /** The stage that failed and its message, for a failed iteration. */
  failedStage?: string | undefined;
  message?: string | undefined;
}

export interface KindSummary {
  n: number;
  success: number;
  failed: number;
  asExpected: number;
  /** How the iterations of this kind went: `sync`, `rebuild`, `sync→rebuild` (rerouted). */
  routes: Record<string, number>;
  p50Ms: number | null;
  p95Ms: number | null;
}

export type GrowthMeasure =
  | "rssMb"
  | "heapUsedMb"
  | "fds"
  | "handles"
  | "listeners"
  | "childProcesses"
  | "danglingImages"
  | "buildCacheBytes"
  | "imageLayersBytes"
  | "modelImages"
  | "modelImageTags";
export const GROWTH_MEASURES: readonly GrowthMeasure[] = [
  "rssMb",
  "heapUsedMb",
  "fds",
  "handles",
  "listeners",
  "childProcesses",
  "danglingImages",
  "buildCacheBytes",
  "imageLayersBytes",
  "modelImages",
  "modelImageTags",
];

export interface SoakResult {
  date: string;
  machine: Machine;
  /** The session: mlkube dev started → stopped (cluster creation, training and clean-up left out). */
  durationS: number;
  settings: SoakSettings & { diagnosticsMs: number; cycle: readonly SoakEdit[] };
  /** Edits made and their iterations finished. */
  iterations: number;
  /** Growth of mlkube's resident set after warm-up, in percent (the highest sample after it). */
  rssGrowthPercent: number | null;
  growth: Record<GrowthMeasure, Growth>;
  results: { success: number; failed: number; asExpected: number; unexpected: number };
  kinds: Partial<Record<SoakEdit, KindSummary>>;
  /** Iterations mlkube started on its own (not for an edit), by trigger. */
  otherIterations: Record<string, number>;
  samples: SoakSample[];
  docker: { start: DockerObjects | null; end: DockerObjects | null };
  /** From mlkube's last `images.pruned` event for the engine: what it removed from the engine this session. */
  pruned: { images: number; reclaimedBytes: number; passes: number };
  /** The same for the local registry (absent from runs before registry pruning had `where`). */
  registryPruned?: { images: number; reclaimedBytes: number } | undefined;
  logs: { rate: number; floodStarts: number; floodFailures: number; linesReceived: number };
  /** After SIGTERM: how mlkube ended and the descendants it left running (pids). */
  exit: { code: number | null; signal: string | null; stopMs: number; descendantsBefore: number; leftRunning: number[] } | null;
  /** The unexpected iterations, described. */
  unexpected: string[];
  errors: string[];
}

export interface SoakHooks {
  say: (line: string) => void;
  /** Holds the running process and the model copy so an interrupted run can clean up. */
  onDev: (dev: DevProcess | undefined) => void;
  onCopy: (copy: ModelCopy) => void;
  checkInterrupted: () => void;
}

/** The file each edit writes: the trigger of the iteration it causes names it. */
const EDITED_FILE: Record<SoakEdit, string> = {
  code: "app.py",
  model: "model.pkl",
  deps: "requirements.txt",
  "broken build": "Dockerfile",
  "build fix": "Dockerfile",
  "crashing pod": "app.py",
  "crash fix": "app.py",
};

export async function runSoak(
  settings: SoakSettings,
  models: ModelVariants,
  nonce: string,
  docker: Dockerode,
  machine: Machine,
  hooks: SoakHooks,
): Promise<SoakResult> {
  const { say } = hooks;
  const cluster = `bench-soak-${nonce}`.slice(0, 30);
  const model = await modelCopy(cluster);
  hooks.onCopy(model);
  const dockerfile = await readFile(join(model.dir, "Dockerfile"), "utf8");
  const records: SoakIteration[] = [];
  const samples: SoakSample[] = [];
  const errors: string[] = [];
  const flood = { starts: 0, failures: 0 };
  let dev: DevProcess | undefined;
  let exit: SoakResult["exit"] = null;
  let dockerEnd: DockerObjects | null = null;
  let repository: string | undefined;
  let sessionStart = Date.now();
  let sessionMs = 0;

  const startFlood = async () => {
    try {
      const response = await fetch(`${MODEL_URL}/flood`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ rate: settings.floodRate, seconds: settings.floodSeconds }),
        signal: AbortSignal.timeout(5_000),
      });
      // 409: this server process is flooding already (the edit did not restart it).
      if (response.status === 202) flood.starts++;
      else if (response.status !== 409) flood.failures++;
    } catch {
      flood.failures++; // the last good version may be starting up again; the next iteration retries
    }
  };

  say(`soak: creating cluster ${cluster}`);
  try {
    const up = await mlkube(["up", model.dir]);
    if (up.code !== 0) throw new Error(`mlkube up failed: ${up.stdout}${up.stderr}`);
    say("soak: mlkube dev (live update on), first iteration");
    sessionStart = Date.now();
    const started = await startDev(model.dir, { live: true, env: { MLKUBE_DIAGNOSTICS_MS: String(DIAGNOSTICS_MS) } });
    dev = started.dev;
    hooks.onDev(dev);
    if (started.first.result !== "success") throw new Error(`the first iteration did not succeed (${started.first.result})`);
    const image = dev.events.findLast((event) => event.type === "iteration.finished")?.image;
    repository = typeof image === "string" ? repositoryOf(image) : undefined;
    await startFlood();
    samples.push(await takeSample(dev, 0, sessionStart, docker, repository));
    for (let iteration = 1; iteration <= settings.iterations; iteration++) {
      hooks.checkInterrupted();
      const record = await soakIteration(dev, model.dir, iteration, `${nonce}-soak-${iteration}`, models, dockerfile);
      records.push(record);
      say(
        `soak #${iteration}/${settings.iterations} ${record.edit}: ${record.result} in ${record.totalMs} ms (${record.route ?? "no route"}${record.rerouted ? ", rerouted" : ""})${record.asExpected ? "" : `, NOT AS EXPECTED: ${record.failedStage ?? ""} ${record.message ?? ""}`}`,
      );
      await startFlood();
      if (iteration % settings.sampleEvery === 0 || iteration === settings.iterations) {
        const sample = await takeSample(dev, iteration, sessionStart, docker, repository);
        samples.push(sample);
        say(
          `soak sample @${iteration}: rss ${sample.rssMb} MB, heap ${sample.heapUsedMb} MB (of ${sample.heapTotalMb} MB), external ${sample.externalMb} MB, fds ${sample.fds}, handles ${sample.handles}, listeners ${sample.listeners}, children ${sample.childProcesses}, dangling ${sample.danglingImages}, build cache ${Math.round(sample.buildCacheBytes / 1e6)} MB, model images ${sample.modelImages} (${sample.modelImageTags} tags), log lines ${sample.logLines}`,
        );
      } else {
        await sleep(1_000);
      }
    }
    exit = await quit(dev);
    sessionMs = Date.now() - sessionStart;
    hooks.onDev(undefined);
    dockerEnd = await dockerObjects(docker, repository);
  } catch (error) {
    errors.push(`soak: ${error instanceof Error ? error.message : String(error)}`.slice(0, 2_000));
    sessionMs ||= Date.now() - sessionStart;
  } finally {
    await dev?.stop().catch(() => undefined);
    hooks.onDev(undefined);
    say(`soak: deleting cluster ${cluster}`);
    await mlkube(["down", "--yes", "--all", model.dir]);
  }
  return summarize({ settings, machine, records, samples, errors, exit, dockerEnd, flood, dev, sessionMs });
}

function dockerPart({ danglingImages, buildCacheBytes, imageLayersBytes, modelImages, modelImageTags }: SoakSample): DockerObjects {
  return { danglingImages, buildCacheBytes, imageLayersBytes, modelImages, modelImageTags };
}

/** One edit and the iteration it caused (not one mlkube started on its own meanwhile). */
async function soakIteration(
  dev: DevProcess,
  dir: string,
  iteration: number,
  label: string,
  models: ModelVariants,
  dockerfile: string,
): Promise<SoakIteration> {
  const edit = editAt(iteration);
  const file = EDITED_FILE[edit];
  const from = dev.mark();
  await applySoakEdit(dir, edit, label, models, dockerfile);
  const causedByEdit = (event: DevEvent) => event.type === "iteration.finished" && event.result !== "cancelled" && String(event.trigger).includes(file);
  const done = await dev.waitFor(causedByEdit, ITERATION_TIMEOUT_MS, from, `the iteration after a ${edit} edit`);
  const events = dev.events.slice(from).filter((event) => event.iteration === done.iteration);
  const failed = events.find((event) => event.type === "stage.failed");
  const result = String(done.result);
  return {
    iteration,
    edit,
    result,
    asExpected: result === expectedResult(edit),
    totalMs: Number(done.totalMs),
    route: (events.find((event) => event.type === "iteration.started")?.route as { kind?: string } | undefined)?.kind,
    rerouted: events.some((event) => event.type === "iteration.rerouted"),
    failedStage: failed ? String(failed.stage) : undefined,
    message: failed ? String(failed.message).split("\n")[0]!.slice(0, 200) : undefined,
  };
}

/** SIGTERM, as the bench's other runs stop mlkube; then every descendant it had must be gone. */
async function quit(dev: DevProcess): Promise<NonNullable<SoakResult["exit"]>> {
  const descendants = processTree(dev.pid).slice(1);
  const stopAt = Date.now();
  await dev.stop();
  const { code, signal } = await dev.exited;
  const stopMs = Date.now() - stopAt;
  // Orphans are adopted by init, so they are looked for by pid, not in mlkube's (gone) tree.
  await sleep(1_000);
  return { code, signal, stopMs, descendantsBefore: descendants.length, leftRunning: descendants.filter((pid) => existsSync(`/proc/${pid}`)) };
}

interface Collected {
  settings: SoakSettings;
  machine: Machine;
  records: SoakIteration[];
  samples: SoakSample[];
  errors: string[];
  exit: SoakResult["exit"];
  dockerEnd: DockerObjects | null;
  flood: { starts: number; failures: number };
  dev: DevProcess | undefined;
  sessionMs: number;
}

function summarize({ settings, machine, records, samples, errors, exit, dockerEnd, flood, dev, sessionMs }: Collected): SoakResult {
  const growth = Object.fromEntries(
    GROWTH_MEASURES.map((measure) => [
      measure,
      growthAfterWarmUp(
        samples.map((sample) => ({ iteration: sample.iteration, value: sample[measure] })),
        settings.warmUp,
      ),
    ]),
  ) as Record<GrowthMeasure, Growth>;
  const kinds: SoakResult["kinds"] = {};
  for (const edit of new Set(SOAK_CYCLE)) {
    const ofKind = records.filter((record) => record.edit === edit);
    if (ofKind.length === 0) continue;
    const routes: Record<string, number> = {};
    for (const record of ofKind) {
      const route = `${record.route ?? "none"}${record.rerouted ? "→rebuild" : ""}`;
      routes[route] = (routes[route] ?? 0) + 1;
    }
    const totals = ofKind.map((record) => record.totalMs);
    kinds[edit] = {
      n: ofKind.length,
      success: ofKind.filter((record) => record.result === "success").length,
      failed: ofKind.filter((record) => record.result === "failed").length,
      asExpected: ofKind.filter((record) => record.asExpected).length,
      routes,
      p50Ms: percentile(totals, 50),
      p95Ms: percentile(totals, 95),
    };
  }
  const events = dev?.events ?? [];
  const pruned = events.filter((event) => event.type === "images.pruned" && event.where === "engine");
  const lastPruned = pruned.at(-1);
  const lastRegistryPruned = events.filter((event) => event.type === "images.pruned" && event.where === "registry").at(-1);
  // Iterations mlkube started without an edit (a pod that restarted without the synced files, ...).
  const otherIterations: Record<string, number> = {};
  const counted = new Set(events.filter((event) => event.type === "iteration.finished").map((event) => event.iteration));
  for (const event of events) {
    if (event.type !== "iteration.started" || event.iteration === 1 || !counted.has(event.iteration)) continue;
    const trigger = String(event.trigger);
    if (Object.values(EDITED_FILE).some((file) => trigger.includes(file))) continue;
    otherIterations[trigger] = (otherIterations[trigger] ?? 0) + 1;
  }
  const asExpected = records.filter((record) => record.asExpected).length;
  return {
    date: new Date().toISOString(),
    machine,
    durationS: Math.round(sessionMs / 1000),
    settings: { ...settings, diagnosticsMs: DIAGNOSTICS_MS, cycle: SOAK_CYCLE },
    iterations: records.length,
    rssGrowthPercent: growth.rssMb.percent,
    growth,
    results: {
      success: records.filter((record) => record.result === "success").length,
      failed: records.filter((record) => record.result === "failed").length,
      asExpected,
      unexpected: records.length - asExpected,
    },
    kinds,
    otherIterations,
    samples,
    docker: { start: samples[0] ? dockerPart(samples[0]) : null, end: dockerEnd },
    pruned: { images: Number(lastPruned?.totalRemoved ?? 0), reclaimedBytes: Number(lastPruned?.totalReclaimedBytes ?? 0), passes: pruned.length },
    registryPruned: { images: Number(lastRegistryPruned?.totalRemoved ?? 0), reclaimedBytes: Number(lastRegistryPruned?.totalReclaimedBytes ?? 0) },
    logs: {
      rate: settings.floodRate,
      floodStarts: flood.starts,
      floodFailures: flood.failures,
      linesReceived: events.filter((event) => event.type === "log").length,
    },
    exit,
    unexpected: records
      .filter((record) => !record.asExpected)
      .map((record) => `#${record.iteration} ${record.edit}: ${record.result}${record.failedStage ? ` (${record.failedStage}: ${record.message ?? ""})` : ""}`),
    errors,
  };
}
