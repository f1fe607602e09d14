/**
 * BuildKit against the classic builder (issue #12), in one run on the same engine: the build stage
 * alone, since delivery, rollout and tests do not depend on the builder. Each builder gets its own
 * copy of the model directory and the same edits in alternation (code: a line of app.py; deps: a
 * comment in requirements.txt, which reruns the install step and every layer after it). Every edit
 * is content neither builder has seen, so no side gets a free cache hit from the other.
 */
import { ImageBuilder } from "../src/adapters/docker/build.js";
import { BASE_IMAGE, engine, removeRepository } from "../test/support/engine.js";
import { summarize, type Summary } from "./stats.js";
import { applyEdit, modelCopy, type ChangeKind, type ModelVariants } from "./workspace.js";

export const BUILDERS = ["buildkit", "classic"] as const;
export type BuilderName = (typeof BUILDERS)[number];

export interface BuilderRow {
  buildkit: Summary & { samples: number[] };
  classic: Summary & { samples: number[] };
  /** classic p50 / BuildKit p50. */
  classicOverBuildkit: number | null;
  /** How the BuildKit side built ("BuildKit on Docker 20.10 through /usr/local/bin/docker buildx"). */
  buildkitDetail: string;
}

export async function compareBuilders(
  counts: Partial<Record<ChangeKind, number>>,
  nonce: string,
  models: ModelVariants,
  say: (line: string) => void,
): Promise<Record<string, BuilderRow>> {
  const sides = await Promise.all(
    BUILDERS.map(async (name) => ({
      name,
      copy: await modelCopy(),
      builder: new ImageBuilder(engine, undefined, { builder: name === "classic" ? "classic" : "auto" }),
      repository: `mlkube-bench-${name}-${nonce}`,
    })),
  );
  const rows: Record<string, BuilderRow> = {};
  try {
    const build = (side: (typeof sides)[number]) =>
      side.builder.build({ contextDir: side.copy.dir, dockerfile: `${side.copy.dir}/Dockerfile`, buildArgs: { BASE_IMAGE }, repository: side.repository });
    // The first build of each side is not measured: it fills that builder's cache from the base image.
    for (const side of sides) await build(side);
    const choice = await sides[0]!.builder.builder();
    if (choice.builder !== "buildkit") throw new Error(`BuildKit is not available here: ${choice.detail}`);
    for (const [kind, iterations] of Object.entries(counts) as [ChangeKind, number][]) {
      const samples: Record<BuilderName, number[]> = { buildkit: [], classic: [] };
      for (let index = 0; index < iterations; index++) {
        // Alternate which builder goes first, so neither always meets a warmer page cache.
        const order = index % 2 === 0 ? sides : [...sides].reverse();
        for (const side of order) {
          await applyEdit(side.copy.dir, kind, `${nonce}-builders-${side.name}-${kind}-${index}`, models);
          const result = await build(side);
          if (result.cached) throw new Error(`the ${kind} edit left the ${side.name} image unchanged`);
          samples[side.name].push(result.durationMs);
        }
        say(
          `builders ${kind} #${index + 1}/${iterations}: BuildKit ${Math.round(samples.buildkit.at(-1)!)} ms, classic ${Math.round(samples.classic.at(-1)!)} ms`,
        );
      }
      const buildkit = { ...summarize(samples.buildkit), samples: samples.buildkit.map(Math.round) };
      const classic = { ...summarize(samples.classic), samples: samples.classic.map(Math.round) };
      const ratio = buildkit.p50 && classic.p50 ? Math.round((classic.p50 / buildkit.p50) * 100) / 100 : null;
      rows[kind] = { buildkit, classic, classicOverBuildkit: ratio, buildkitDetail: choice.detail };
    }
  } finally {
    for (const side of sides) {
      await removeRepository(side.repository).catch(() => undefined);
      await side.copy.cleanup().catch(() => undefined);
    }
  }
  return rows;
}
