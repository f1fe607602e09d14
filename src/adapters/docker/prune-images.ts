/**
 * Old images mlkube built, removed from the Docker engine by the rule in core/image-pruning.ts.
 * Removing a reference only untags it when another tag still names the image; the engine deletes
 * the image (and the layers no other image uses) with its last tag.
 */
import type Dockerode from "dockerode";
import { imagesToPrune, MANAGED_LABEL, type BuiltImage, type PruneScope } from "../../core/image-pruning.js";
import { repositoryOf, sameRepository } from "../../manifests/image-ref.js";

interface EnginePruneResult {
  /** References removed (untagged, or deleted with their image). */
  removed: string[];
  /** The images those references named, each once (a build has two names with registry delivery). */
  removedImages: string[];
  /** The removed images' own sizes (excluding layers shared with other images): about what the disk got back. */
  reclaimedBytes: number;
  /** References that could not be removed, and why (a container created from it, say). */
  failed: { reference: string; reason: string }[];
}

/** Every tag of every image mlkube built that the engine holds. */
export async function listBuiltImages(docker: Dockerode): Promise<BuiltImage[]> {
  // shared-size: the engine computes each image's layers shared with other images (API 1.42+;
  // older engines report -1, and the whole size is counted then).
  const summaries = await docker.listImages({
    filters: JSON.stringify({ label: [`${MANAGED_LABEL}=true`] }),
    "shared-size": true,
  } as Dockerode.ListImagesOptions);
  return summaries.flatMap((summary) =>
    (summary.RepoTags ?? [])
      .filter((reference) => reference !== "<none>:<none>")
      .map((reference) => ({
        reference,
        imageId: summary.Id,
        labels: summary.Labels ?? {},
        created: summary.Created * 1000,
        sizeBytes: summary.SharedSize >= 0 ? summary.Size - summary.SharedSize : summary.Size,
      })),
  );
}

/**
 * Removes the images the rule lets go; a failure to remove one is reported, not thrown.
 *
 * `builtRepository` is the name builds are tagged with (mlkube.yaml's image.repository). Registry
 * delivery tags each build a second time, as pushed (`localhost:5001/iris:<tag>` beside
 * `iris:<tag>`), and the engine frees an image only with its last tag: both names go by the same
 * rule, and what runs under the pushed name keeps its built name too.
 */
export async function pruneEngineImages(docker: Dockerode, scope: PruneScope, builtRepository = scope.repository): Promise<EnginePruneResult> {
  const images = await listBuiltImages(docker);
  const prune = imagesToPrune(images, scope).prune;
  if (!sameRepository(builtRepository, scope.repository)) {
    const running = [...scope.running, ...scope.running.flatMap((reference) => builtName(reference, scope.repository, builtRepository))];
    prune.push(...imagesToPrune(images, { ...scope, repository: builtRepository, running }).prune);
  }
  const result: EnginePruneResult = { removed: [], removedImages: [], reclaimedBytes: 0, failed: [] };
  // The image itself goes with the last of its tags; its size counts once, when the engine says it deleted it.
  for (const image of prune) {
    try {
      const answer = (await docker.getImage(image.reference).remove()) as { Deleted?: string }[];
      result.removed.push(image.reference);
      if (!result.removedImages.includes(image.imageId)) result.removedImages.push(image.imageId);
      if (answer.some((item) => item.Deleted === image.imageId)) result.reclaimedBytes += image.sizeBytes;
    } catch (error) {
      result.failed.push({ reference: image.reference, reason: (error as Error).message });
    }
  }
  return result;
}

/** `localhost:5001/iris:<tag>` as built: `iris:<tag>` (a reference by digest has no built name). */
function builtName(reference: string, pushedRepository: string, builtRepository: string): string[] {
  if (reference.includes("@") || !sameRepository(repositoryOf(reference), pushedRepository)) return [];
  return [`${builtRepository}${reference.slice(repositoryOf(reference).length)}`];
}
