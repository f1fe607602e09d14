/**
 * Old images mlkube built, removed from the Docker engine by the rule in core/image-pruning.ts.
 * Removing a reference only untags it when another tag still names the image; the engine deletes
 * the image (and the layers no other image uses) with its last tag.
 */
import type Dockerode from "dockerode";
import { imagesToPrune, MANAGED_LABEL, type BuiltImage, type PruneScope } from "../../core/image-pruning.js";

export interface EnginePruneResult {
  /** References removed (untagged, or deleted with their image). */
  removed: string[];
  /** The removed images' own sizes (excluding layers shared with other images): about what the disk got back. */
  reclaimedBytes: number;
  /** References that could not be removed, and why (a container created from it, say). */
  failed: { reference: string; reason: string }[];
}

/** Every tag of every image mlkube built that the engine holds. */
export async function listBuiltImages(docker: Dockerode): Promise<BuiltImage[]> {
  // shared-size: the engine computes each image's layers shared with other images (API 1.42+;
  // older engines report -1, and the whole size is counted then).
  const summaries = await docker.listImages({ filters: JSON.stringify({ label: [`${MANAGED_LABEL}=true`] }), "shared-size": true } as Dockerode.ListImagesOptions);
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

/** Removes the images the rule lets go; a failure to remove one is reported, not thrown. */
export async function pruneEngineImages(docker: Dockerode, scope: PruneScope): Promise<EnginePruneResult> {
  const decision = imagesToPrune(await listBuiltImages(docker), scope);
  const result: EnginePruneResult = { removed: [], reclaimedBytes: 0, failed: [] };
  for (const image of decision.prune) {
    try {
      const answer = (await docker.getImage(image.reference).remove()) as { Deleted?: string }[];
      result.removed.push(image.reference);
      if (answer.some((item) => item.Deleted === image.imageId)) result.reclaimedBytes += image.sizeBytes;
    } catch (error) {
      result.failed.push({ reference: image.reference, reason: (error as Error).message });
    }
  }
  return result;
}
