/**
 * The reference `mlkube build` would give a model's image, computed without a Docker engine: the
 * tag is a digest of the build inputs, so hashing them is enough. `render` uses it to show exactly
 * what `dev` would apply on a machine where no engine runs.
 */
import { readFile } from "node:fs/promises";
import type { ResolvedConfig } from "../../config/load.js";
import { displayPath } from "../../config/errors.js";
import { UserError } from "../../errors.js";
import { FileHashCache, contextDigest, listContext } from "./build-context.js";
import { TAG_LENGTH } from "./build.js";
import { buildRequestFor } from "./build-request.js";

/** `repository:tag`, as ImageBuilder.build would tag an image built from these inputs now. */
export async function contentReference(
  config: ResolvedConfig,
  hashes: FileHashCache = new FileHashCache(),
  repository = config.image.repository,
): Promise<string> {
  const request = buildRequestFor(config, repository);
  let dockerfileText: string;
  try {
    dockerfileText = await readFile(request.dockerfile, "utf8");
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code !== "ENOENT") throw cause;
    throw new UserError("dockerfile", `No Dockerfile at ${displayPath(request.dockerfile)}, so there is no image to compute a tag for.`, {
      hint: "Add the Dockerfile, or pass the image to use with --image REF.",
      cause,
    });
  }
  const entries = await listContext(request.contextDir, hashes, request.dockerfile);
  const tag = contextDigest({ entries, dockerfileText, buildArgs: request.buildArgs, target: request.target }).slice(0, TAG_LENGTH);
  return `${request.repository}:${tag}`;
}
