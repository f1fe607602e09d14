/**
 * The sync rules live update uses for a model: mlkube.yaml's own, or those its Dockerfile's
 * COPY/ADD instructions give (read again whenever the Dockerfile or mlkube.yaml may have changed).
 */
import { readFile } from "node:fs/promises";
import { isAbsolute, relative, sep } from "node:path";
import type { ResolvedConfig } from "../../config/load.js";
import type { LiveSync } from "../../core/dev/state.js";
import { inferSyncRules } from "../../core/live/sync-rules.js";

export async function readSyncRules(config: ResolvedConfig): Promise<LiveSync & { notes: string[] }> {
  const context = toPosix(relative(config.dir, config.build.context));
  const dockerfileInContext = relative(config.build.context, config.build.dockerfile);
  const dockerfile = dockerfileInContext.startsWith("..") || isAbsolute(dockerfileInContext) ? undefined : toPosix(dockerfileInContext);
  if (config.sync.mode === "rules") return { rules: config.sync.rules, notes: [], context, dockerfile };
  if (config.sync.mode === "off") return { rules: [], notes: [], context, dockerfile };
  const text = await readFile(config.build.dockerfile, "utf8");
  const inferred = inferSyncRules(text, {
    target: config.build.target,
    buildArgs: config.build.args,
    displayPath: toPosix(relative(config.dir, config.build.dockerfile)),
  });
  return { ...inferred, context, dockerfile };
}

function toPosix(path: string): string {
  return path.split(sep).join("/");
}
