import type Dockerode from "dockerode";
import { podImageFor, pushReferenceFor, type DeliveryDecision } from "../../core/delivery.js";
import { pushImage } from "../docker/push.js";
import { registryLockDir, whilePushing } from "../registry/registry-lock.js";
import type { BuiltImage, DeliveryResult } from "./provider.js";

/** Registry delivery, the same for every cluster type: push, then name the image as the node pulls it. */
export async function deliverByPush(
  docker: Dockerode,
  decision: Extract<DeliveryDecision, { path: "registry" }>,
  image: BuiltImage,
  options: { signal?: AbortSignal | undefined; onBytes?: ((bytes: number) => void) | undefined },
): Promise<DeliveryResult> {
  // Never while a garbage collection runs in that registry (registry-lock.ts).
  const pushed = await whilePushing(
    registryLockDir(decision.pushTo),
    () =>
      pushImage(docker, image.imageId, pushReferenceFor(decision, image.repository, image.tag), {
        signal: options.signal,
        onProgress: (progress) => options.onBytes?.(progress.bytesPushed),
      }),
    options.signal,
  );
  return {
    path: "registry",
    podImage: podImageFor(decision, image.repository, image.tag),
    bytesMoved: pushed.bytesPushed,
    durationMs: pushed.durationMs,
    detail: `${pushed.layersPushed} layer(s) pushed, ${pushed.layersSkipped} already there`,
  };
}
