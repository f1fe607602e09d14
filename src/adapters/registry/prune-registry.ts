/**
 * Old images mlkube pushed, removed from the local registry by the same rule as from the engine
 * (core/image-pruning.ts), then their space given back by the registry's garbage collector.
 *
 * Deleting a manifest only unlinks it: the layers stay on disk until `registry garbage-collect`
 * runs in the registry's container. That runs only between pushes (registry-lock.ts). Blobs freed
 * by a deletion whose collection could not run yet are remembered for the next one, so the
 * reclaimed bytes are counted once, when the disk gets them back.
 */
import type Dockerode from "dockerode";
import { imagesToPrune, type BuiltImage, type PruneScope } from "../../core/image-pruning.js";
import { execInContainer } from "../docker/container-exec.js";
import { RegistryApi, type TaggedManifest } from "./registry-api.js";
import { registryLockDir, unlessPushing } from "./registry-lock.js";

interface RegistryPruneResult {
  /** References whose manifests were deleted. */
  removed: string[];
  /** What the garbage collector gave back this pass (0 when it could not run yet). */
  reclaimedBytes: number;
  /** Set when the registry refuses deletes: pruning it is off, and why. */
  unsupported?: string | undefined;
}

interface RegistryTarget {
  /** Where mlkube pushes: `localhost:5001`. */
  host: string;
  /** How the cluster's pods name the same registry (`localhost:5001` on kind, with hosts.toml). */
  pullAs: string;
  /** The registry's container on the build engine, where the garbage collector runs. */
  container: string | undefined;
}

export class RegistryPruner {
  private readonly api: RegistryApi;
  /** Blobs of deleted manifests that no kept image uses, with their sizes: freed by the next collection. */
  private readonly unreferenced = new Map<string, number>();

  constructor(
    private readonly docker: Dockerode,
    private readonly target: RegistryTarget,
  ) {
    this.api = new RegistryApi(target.host);
  }

  async prune(scope: PruneScope): Promise<RegistryPruneResult> {
    const path = repositoryPath(scope.repository);
    const manifests = (await Promise.all((await this.api.tags(path)).map((tag) => this.api.manifest(path, tag)))).filter(
      (manifest): manifest is TaggedManifest => manifest !== undefined,
    );
    const images = manifests.map((manifest) => asBuiltImage(this.target.host, path, manifest));
    const decision = imagesToPrune(images, { ...scope, repository: `${this.target.host}/${path}`, running: this.runningHere(scope.running) });
    // A digest goes only when no kept tag names it: a DELETE removes every tag of that manifest.
    const keptDigests = new Set(decision.kept.map((image) => image.imageId));
    const keptBlobs = new Set(manifests.filter((manifest) => keptDigests.has(manifest.digest)).flatMap((manifest) => [...manifest.blobs.keys()]));
    const result: RegistryPruneResult = { removed: [], reclaimedBytes: 0 };
    for (const image of decision.prune) {
      if (keptDigests.has(image.imageId)) continue;
      const outcome = await this.api.deleteManifest(path, image.imageId);
      if (outcome === "unsupported") {
        result.unsupported = `the registry ${this.target.host} does not allow deletes (it runs without storage.delete.enabled)`;
        break;
      }
      result.removed.push(image.reference);
      const manifest = manifests.find((candidate) => candidate.digest === image.imageId)!;
      for (const [digest, size] of manifest.blobs) if (!keptBlobs.has(digest)) this.unreferenced.set(digest, size);
    }
    if (this.unreferenced.size > 0 && this.target.container) result.reclaimedBytes = (await this.collectGarbage(this.target.container)) ?? 0;
    return result;
  }

  /** Runs the collector in the registry's container when no push is under way; the bytes it freed of blobs mlkube unreferenced. */
  private async collectGarbage(container: string): Promise<number | undefined> {
    const output = await unlessPushing(registryLockDir(this.target.host), () =>
      execInContainer(this.docker, container, ["/bin/registry", "garbage-collect", "/etc/docker/registry/config.yml"]),
    );
    if (output === undefined) return undefined;
    let freed = 0;
    for (const digest of eligibleBlobs(output)) {
      freed += this.unreferenced.get(digest) ?? 0;
      this.unreferenced.delete(digest);
    }
    // Whatever it did not list is gone already or still referenced elsewhere (another repository).
    this.unreferenced.clear();
    return freed;
  }

  /** The pods' images as this registry names them, and the manifest digests they were pulled by. */
  private runningHere(running: readonly string[]): string[] {
    return running.flatMap((image) => {
      const digest = /@(sha256:[0-9a-f]{64})$/.exec(image)?.[1];
      const pushForm = image.startsWith(`${this.target.pullAs}/`) ? `${this.target.host}/${image.slice(this.target.pullAs.length + 1)}` : image;
      return digest ? [image, digest] : [image, pushForm];
    });
  }
}

/** `registry garbage-collect` lists each blob it deletes as "blob eligible for deletion: sha256:...". */
export function eligibleBlobs(output: string): string[] {
  return [...output.matchAll(/^blob eligible for deletion: (sha256:[0-9a-f]{64})\s*$/gm)].map((match) => match[1]!);
}

function repositoryPath(repository: string): string {
  const [first, ...rest] = repository.split("/");
  return rest.length > 0 && (first!.includes(".") || first!.includes(":") || first === "localhost") ? rest.join("/") : repository;
}

function asBuiltImage(host: string, path: string, manifest: TaggedManifest): BuiltImage {
  return {
    reference: `${host}/${path}:${manifest.tag}`,
    imageId: manifest.digest,
    labels: manifest.labels,
    created: manifest.created,
    sizeBytes: [...manifest.blobs.values()].reduce((total, size) => total + size, 0),
  };
}
