import { outsideWarning, type ResolvedConfig } from "../../config/load.js";
import type { BuildRequest } from "./build.js";

/** What to build for a model, from its resolved configuration. */
export function buildRequestFor(config: ResolvedConfig, repository = config.image.repository): BuildRequest {
  return {
    contextDir: config.build.context,
    dockerfile: config.build.dockerfile,
    buildArgs: config.build.args,
    target: config.build.target,
    repository,
    labels: { "dev.mlkube.model": config.name },
    warnings: (config.outsidePaths ?? []).map(outsideWarning),
  };
}
