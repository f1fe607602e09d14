/** The soak's part of latest.md and README's Benchmarks section, and its rows of the targets table. */
import { DEFAULT_KEEP } from "../src/core/image-pruning.js";
import type { Target } from "./report.js";
import type { GrowthMeasure, SoakResult } from "./soak.js";
import { withinAim, type Growth } from "./soak-growth.js";

/** The issue's aim for everything sampled: growth after warm-up ≤ 10%. */
const GROWTH_AIM_PERCENT = 10;

const MEASURES: Record<GrowthMeasure, { label: string; unit: string; scale?: number }> = {
  rssMb: { label: "mlkube resident set (VmRSS)", unit: " MB" },
  heapUsedMb: { label: "V8 heap used (lowest in a 5 s window)", unit: " MB" },
  fds: { label: "open file descriptors", unit: "" },
  handles: { label: "active handles (sockets, timers, watchers, ...)", unit: "" },
  listeners: { label: "listeners and store subscribers", unit: "" },
  childProcesses: { label: "child processes", unit: "" },
  danglingImages: { label: "Docker: dangling images", unit: "" },
  buildCacheBytes: { label: "Docker: build cache", unit: " MB", scale: 1e6 },
  imageLayersBytes: { label: "Docker: image layers on disk", unit: " MB", scale: 1e6 },
  modelImages: { label: "Docker: images mlkube built for the model", unit: "" },
  modelImageTags: { label: "Docker: their tags (local and registry names)", unit: "" },
};
const GROWTH_MEASURES_SHOWN = Object.keys(MEASURES) as GrowthMeasure[];

/**
 * The model's images are held to the prune rule's bound, not to a growth percentage: their count
 * moves by one or two with when a sample falls between an iteration and its prune pass, and one
 * image of six is already 17%. After a pass (core/image-pruning.ts) at most the newest
 * `DEFAULT_KEEP`, the running dev layer and its base remain; a sample is taken when an iteration
 * has finished, possibly before its pass, and in the soak's cycle a failed iteration is always
 * followed by its fix: so the two iterations before a sample add at most two rebuilds of an
 * image and a dev layer each. Without pruning the count passes this within one cycle (two or
 * more rebuilds in every eight edits).
 */
const MODEL_IMAGES_BOUND = DEFAULT_KEEP + 2 + 2 * 2;

const value = (measure: GrowthMeasure, raw: number | null) => {
  if (raw === null) return "–";
  const { unit, scale } = MEASURES[measure];
  return `${scale ? Math.round(raw / scale) : raw}${unit}`;
};
const percent = (growth: number | null) => (growth === null ? "–" : `${growth > 0 ? "+" : ""}${growth}%`);
const mb = (bytes: number) => `${Math.round(bytes / 1e6)} MB`;

function growthText(measure: GrowthMeasure, growth: Growth): string {
  if (growth.delta === null) return "not measured";
  return `${percent(growth.percent)} (${value(measure, growth.atWarmUp)} → ${value(measure, growth.max)})`;
}

export function soakTargets(soak: SoakResult | null | undefined): Target[] {
  if (!soak) return [];
  const rows: Target[] = GROWTH_MEASURES_SHOWN.filter((measure) => measure !== "modelImages").map((measure) => {
    const growth = soak.growth[measure];
    return {
      what: `soak: ${MEASURES[measure].label}, growth after warm-up`,
      aim: `≤ ${GROWTH_AIM_PERCENT}%`,
      measured: growthText(measure, growth),
      met: withinAim(growth, GROWTH_AIM_PERCENT),
    };
  });
  const modelImages = soak.growth.modelImages;
  rows.push({
    what: `soak: ${MEASURES.modelImages.label}, most after warm-up (prune rule: the ${DEFAULT_KEEP} newest, the running dev layer and its base, two rebuilds not yet pruned)`,
    aim: `≤ ${MODEL_IMAGES_BOUND}`,
    measured:
      modelImages.max === null ? "not measured" : `${modelImages.max} (${modelImages.atWarmUp} at the end of warm-up, ${modelImages.last} at the last sample)`,
    met: modelImages.max === null ? null : modelImages.max <= MODEL_IMAGES_BOUND,
  });
  rows.push({
    what: `soak: iterations as expected (mistakes fail, everything else succeeds)`,
    aim: "all",
    measured: `${soak.results.asExpected} of ${soak.iterations}`,
    met: soak.iterations === 0 ? null : soak.results.unexpected === 0,
  });
  const exit = soak.exit;
  rows.push({
    what: "soak: SIGTERM ends mlkube (as the e2e suite expects: 143, within seconds; SIGKILL after 15 s)",
    aim: "exit 143",
    measured: exit ? `${exit.code !== null ? `exit ${exit.code}` : `killed by ${exit.signal}`} after ${exit.stopMs} ms` : "–",
    met: exit ? exit.code === 143 : null,
  });
  rows.push({
    what: "soak: processes mlkube started left running after it ended",
    aim: "0",
    measured: exit ? `${exit.leftRunning.length} of the ${exit.descendantsBefore} it had before SIGTERM` : "–",
    met: exit ? exit.leftRunning.length === 0 : null,
  });
  return rows;
}

export function soakMarkdown(soak: SoakResult): string[] {
  const { settings } = soak;
  const lines: string[] = [];
  lines.push(
    `Soak (issue #15, \`npm run bench -- --soak\`), measured ${soak.date.slice(0, 10)} on ${soak.machine.description}: ${soak.iterations} iterations in one \`mlkube dev --json\` session (live update on) on the simulated kind cluster with a registry, ${Math.round(soak.durationS / 60)} min. Edits in a cycle of ${settings.cycle.length}: ${settings.cycle.join(", ")}. The pod logs ${settings.floodRate} lines/s throughout (${soak.logs.linesReceived.toLocaleString("en")} lines reached mlkube's output). Sampled every ${settings.sampleEvery} iterations; warm-up is the first ${settings.warmUp}; growth is the highest sample after warm-up against the sample at its end (the last sample's growth beside it).`,
  );
  lines.push("");
  lines.push("| measure | end of warm-up | highest after | last | growth (highest) | growth (last) |");
  lines.push("| --- | --- | --- | --- | --- | --- |");
  for (const measure of GROWTH_MEASURES_SHOWN) {
    const growth = soak.growth[measure];
    lines.push(
      `| ${MEASURES[measure].label} | ${value(measure, growth.atWarmUp)} | ${value(measure, growth.max)} | ${value(measure, growth.last)} | ${percent(growth.percent)} | ${percent(growth.lastPercent)} |`,
    );
  }
  lines.push("");
  lines.push("| edit | n | as expected | succeeded | failed | route | edit → verdict p50 | p95 |");
  lines.push("| --- | --- | --- | --- | --- | --- | --- | --- |");
  for (const [edit, kind] of Object.entries(soak.kinds)) {
    const routes = Object.entries(kind.routes)
      .map(([route, count]) => `${route} ${count}`)
      .join(", ");
    lines.push(
      `| ${edit} | ${kind.n} | ${kind.asExpected} | ${kind.success} | ${kind.failed} | ${routes} | ${kind.p50Ms === null ? "–" : `${(kind.p50Ms / 1000).toFixed(2)} s`} | ${kind.p95Ms === null ? "–" : `${(kind.p95Ms / 1000).toFixed(2)} s`} |`,
    );
  }
  lines.push("");
  lines.push(
    "| after iteration | minutes | RSS | heap | fds | handles | listeners | children | dangling images | build cache | image layers | model's images | their tags |",
  );
  lines.push("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
  for (const sample of soak.samples) {
    const cells = GROWTH_MEASURES_SHOWN.map((measure) => value(measure, sample[measure]));
    lines.push(`| ${sample.iteration} | ${(sample.elapsedS / 60).toFixed(1)} | ${cells.join(" | ")} |`);
  }
  lines.push("");
  const reference = [...soak.samples].reverse().find((sample) => sample.iteration <= settings.warmUp);
  const last = soak.samples.at(-1);
  if (reference && last && last !== reference) {
    const types = [...new Set([...Object.keys(reference.activeResources), ...Object.keys(last.activeResources)])].sort();
    lines.push(
      `Active resources by type, end of warm-up → last sample: ${types.map((type) => `${type} ${reference.activeResources[type] ?? 0} → ${last.activeResources[type] ?? 0}`).join(", ")}.`,
    );
    lines.push("");
  }
  const start = soak.docker.start;
  const end = soak.docker.end;
  const others = Object.entries(soak.otherIterations).map(([trigger, count]) => `${count}× "${trigger}"`);
  const registry = soak.registryPruned
    ? `; from the registry ${soak.registryPruned.images}, ${mb(soak.registryPruned.reclaimedBytes)} given back by its garbage collector`
    : "";
  lines.push(
    `Old images pruned by mlkube from the engine: ${soak.pruned.images} in ${soak.pruned.passes} passes, ${mb(soak.pruned.reclaimedBytes)} reclaimed as its \`images.pruned\` events count it (the images' own layers; an engine older than API 1.42 reports no shared size, and whole images are counted)${registry}. Docker, first sample → after quit: image layers on disk ${start ? mb(start.imageLayersBytes) : "–"} → ${end ? mb(end.imageLayersBytes) : "–"}, dangling images ${start?.danglingImages ?? "–"} → ${end?.danglingImages ?? "–"}, build cache ${start ? mb(start.buildCacheBytes) : "–"} → ${end ? mb(end.buildCacheBytes) : "–"}, the model's images ${start?.modelImages ?? "–"} → ${end?.modelImages ?? "–"} (tags ${start?.modelImageTags ?? "–"} → ${end?.modelImageTags ?? "–"}). Iterations mlkube started on its own: ${others.join(", ") || "none"}.${soak.unexpected.length ? ` Not as expected: ${soak.unexpected.slice(0, 10).join("; ")}${soak.unexpected.length > 10 ? "; ..." : ""}.` : ""}${soak.errors.length ? ` Errors: ${soak.errors.map((error) => error.split("\n")[0]).join("; ")}` : ""}`,
  );
  return lines;
}
