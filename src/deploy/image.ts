/**
 * The first two steps of deploy-and-verify, shared by `mlkube dev` and `mlkube reproduce`: build
 * the model's image for the cluster, then move it there by the cluster's delivery path.
 */
import type Dockerode from "dockerode";
import type { BuiltImage, DeliveryResult, ReadyCluster } from "../adapters/cluster/provider.js";
import type { BuildEvent, ImageBuilder } from "../adapters/docker/build.js";
import { baseImagesFor, buildRequestFor } from "../adapters/docker/build-request.js";
import type { ResolvedConfig } from "../config/load.js";

interface ImageOptions {
  signal?: AbortSignal | undefined;
  progress?: ((line: string) => void) | undefined;
  onEvent?: ((event: BuildEvent) => void) | undefined;
}

export interface ClusterBuild {
  image: BuiltImage;
  /** The reference as built, `repository:tag`. */
  reference: string;
  /** The image was already built: nothing changed in its context. */
  cached: boolean;
  cachedSteps: number;
  totalSteps: number;
  /** What was done for the build beforehand (minikube: base images loaded into its engine), for the user. */
  prepared: string[];
}

/** Builds the model's image with the engine the cluster builds on (the host's, or minikube's own). */
export async function buildForCluster(cluster: ReadyCluster, builder: ImageBuilder, config: ResolvedConfig, options: ImageOptions = {}): Promise<ClusterBuild> {
  const request = buildRequestFor(config);
  // minikube: a base image only the host's engine has is loaded into the node's engine first.
  const prepared = (await cluster.provideBaseImages?.(await baseImagesFor(request), { signal: options.signal, progress: options.progress })) ?? [];
  const result = await builder.build(request, { signal: options.signal, onEvent: options.onEvent });
  return {
    image: { repository: request.repository, tag: result.tag, imageId: result.imageId },
    reference: result.reference,
    cached: result.cached,
    cachedSteps: result.cachedSteps,
    totalSteps: result.totalSteps,
    prepared,
  };
}

export interface ClusterImage extends DeliveryResult {
  /** The image's USER when it is a non-zero number: then the pod may require runAsNonRoot. */
  runAsUser: number | undefined;
}

/** Moves IMAGE into the cluster; the USER is read from the image moved, never from another build (one whose delivery failed). */
export async function deliverToCluster(
  cluster: ReadyCluster,
  image: BuiltImage,
  options: Pick<ImageOptions, "signal"> & { onBytes?: ((bytes: number) => void) | undefined } = {},
): Promise<ClusterImage> {
  const delivered = await cluster.deliver(image, options);
  return { ...delivered, runAsUser: await numericImageUser(cluster.buildEngine.client, image.imageId) };
}

async function numericImageUser(docker: Dockerode, imageId: string): Promise<number | undefined> {
  try {
    const info = await docker.getImage(imageId).inspect();
    const user = (info.Config?.User ?? "").split(":")[0] ?? "";
    return /^\d+$/.test(user) ? Number(user) : undefined;
  } catch {
    return undefined; // not inspectable on the build engine: leave runAsNonRoot out
  }
}
