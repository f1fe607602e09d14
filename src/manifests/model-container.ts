/**
 * Finds the container in the user's manifests that runs the model, so its image can be replaced
 * with the one mlkube built. The rules, in order:
 *   1. containers whose image repository is the configured one (image.repository) or the
 *      production repository the caller names, or failing that has the same image name
 *      (`registry.example.com/ml/iris-sklearn` matches `iris-sklearn`): all of them, since they
 *      run the same image;
 *   2. the only container there is;
 *   3. the one container named like the model.
 * Anything else is ambiguous, and the error says how to settle it.
 */
import type { ResolvedConfig } from "../config/load.js";
import { displayPath } from "../config/errors.js";
import { UserError } from "../errors.js";
import { imageName, repositoryOf, sameRepository } from "./image-ref.js";
import { describeObject, type KubeObject, type ObjectOrigin } from "./types.js";
import { containersOf, type ContainerRef } from "./workloads.js";

export interface ModelContainer extends ContainerRef {
  object: KubeObject;
  origin: ObjectOrigin;
  /** Why this container was chosen, for the notes. */
  reason: string;
}

export function findModelContainers(
  objects: readonly { object: KubeObject; origin: ObjectOrigin }[],
  config: Pick<ResolvedConfig, "name" | "image">,
  productionRepository?: string,
): ModelContainer[] {
  const candidates = objects.flatMap(({ object, origin }) => containersOf(object).map((ref) => ({ ...ref, object, origin })));
  if (candidates.length === 0) {
    throw new UserError("manifest", "None of the manifests runs a container, so there is nowhere to run the model's image.", {
      hint: "Add the model's Deployment to the manifests, or remove `manifests` from mlkube.yaml to use the Deployment mlkube generates.",
    });
  }
  const repositories = [config.image.repository, ...(productionRepository ? [productionRepository] : [])];
  const imageOf = (ref: ContainerRef) => (typeof ref.container.image === "string" ? repositoryOf(ref.container.image) : "");

  const exact = candidates.filter((ref) => repositories.some((repository) => sameRepository(imageOf(ref), repository)));
  if (exact.length > 0) return exact.map((ref) => ({ ...ref, reason: "its image repository is the model's" }));
  const names = new Set(repositories.map(imageName));
  const sameName = candidates.filter((ref) => names.has(imageName(imageOf(ref))));
  if (sameName.length > 0) return sameName.map((ref) => ({ ...ref, reason: `its image is named ${imageName(imageOf(ref))}` }));

  const only = candidates.length === 1 ? candidates[0] : undefined;
  if (only) return [{ ...only, reason: "it is the only container" }];
  const named = candidates.filter((ref) => ref.container.name === config.name);
  if (named.length === 1 && named[0]) return [{ ...named[0], reason: `it is named ${config.name}` }];

  throw new UserError(
    "manifest",
    `mlkube cannot tell which container runs the model: none uses the image ${config.image.repository}, and there are ${candidates.length} containers.`,
    {
      details: candidates.map((ref) => `${where(ref)}: container ${String(ref.container.name)} (image ${String(ref.container.image)})`),
      hint: `Set image.repository in mlkube.yaml to the repository of the model's image (as written in the manifests), or name the model's container "${config.name}".`,
    },
  );
}

function where(ref: { object: KubeObject; origin: ObjectOrigin }): string {
  const file = ref.origin.file === undefined ? "generated" : `${displayPath(ref.origin.file)} (document ${ref.origin.document ?? 1})`;
  return `${file} ${describeObject(ref.object)}`;
}
