/**
 * What live update put on a Deployment's pods beyond its image, recorded on the Deployment itself
 * so `mlkube status` (another process) can say so: "live: 2 files ahead of the image". A merge
 * patch of the Deployment's own metadata, never its pod template, so it starts no rollout.
 */
import { PatchStrategy, setHeaderOptions, type V1Deployment } from "@kubernetes/client-node";
import type { KubeAccess } from "./client.js";

const LIVE_AHEAD_ANNOTATION = "mlkube.dev/live-ahead";

/** Records FILES (model-directory paths) as ahead of the image; an empty list removes the record. */
export async function recordLiveAhead(kube: KubeAccess, target: { namespace: string; name: string }, files: readonly string[]): Promise<void> {
  const value = files.length > 0 ? files.join(",") : null;
  await kube.apps.patchNamespacedDeployment(
    { name: target.name, namespace: target.namespace, body: { metadata: { annotations: { [LIVE_AHEAD_ANNOTATION]: value } } } },
    setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
  );
}

/** The files a Deployment's pods run ahead of its image, as recorded by `mlkube dev`. */
export function liveAhead(deployment: V1Deployment): string[] {
  const value = deployment.metadata?.annotations?.[LIVE_AHEAD_ANNOTATION];
  return value ? value.split(",").filter(Boolean) : [];
}
