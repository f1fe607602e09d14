import { readFile } from "node:fs/promises";
import { outsideWarning, type ResolvedConfig } from "../../config/load.js";
import type { BuildRequest } from "./build.js";
import { baseImages } from "./dockerfile-check.js";

/** What to build for a model, from its resolved configuration. */
export function buildRequestFor(config: ResolvedConfig, repository = config.image.repository): BuildRequest {
  return {
    contextDir: config.build.context,
    dockerfile: config.build.dockerfile,
    buildArgs: config.build.args,
    target: config.build.target,
    secrets: config.build.secrets,
    repository,
    labels: { "dev.mlkube.model": config.name },
    warnings: (config.outsidePaths ?? []).map(outsideWarning),
  };
}

/** The base images a build request needs (none when the Dockerfile cannot be read: the build says why). */
export async function baseImagesFor(request: BuildRequest): Promise<string[]> {
  const text = await readFile(request.dockerfile, "utf8").catch(() => undefined);
  if (text === undefined) return [];
  try {
    return baseImages(text, request.buildArgs);
  } catch {
    return []; // a Dockerfile that does not parse is the build's to report
  }
}
