import type { V1Endpoints } from "@kubernetes/client-node";
import { isNotFound, type KubeAccess } from "./client.js";

/**
 * Waits until a Service sends traffic only to the new ReplicaSet's pods. A rollout is complete
 * when the new pods are ready, but the old ones leave the Service's endpoints a moment later:
 * smoke tests run in that moment can be answered by the old version and pass or fail for it.
 *
 * Reads v1 Endpoints, which every Kubernetes version still serves (EndpointSlices are the newer
 * view of the same data), a few times a second: the wait is short and bounded, so a watch would
 * only add code. Gives up quietly after `timeoutMs`: the tests then run anyway, and the rollout
 * itself already succeeded. kube-proxy applies the change a moment later still; that lag cannot
 * be observed from outside the node.
 */
export async function waitForServiceOnNewPods(
  kube: KubeAccess,
  target: { namespace: string; service: string; deployment: string; templateHash: string },
  options: { timeoutMs: number; signal?: AbortSignal | undefined },
): Promise<boolean> {
  const newPodPrefix = `${target.deployment}-${target.templateHash}-`;
  const started = performance.now();
  while (performance.now() - started < options.timeoutMs && !options.signal?.aborted) {
    const endpoints = await kube.core.readNamespacedEndpoints({ name: target.service, namespace: target.namespace }).catch((error: unknown) => {
      if (isNotFound(error)) return undefined;
      throw error;
    });
    if (endpoints && servesOnly(endpoints, newPodPrefix)) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return false;
}

/** Ready addresses exist, and every one of them is a pod of the new ReplicaSet. */
export function servesOnly(endpoints: V1Endpoints, podPrefix: string): boolean {
  const ready = (endpoints.subsets ?? []).flatMap((subset) => subset.addresses ?? []);
  return ready.length > 0 && ready.every((address) => address.targetRef?.kind === "Pod" && (address.targetRef.name ?? "").startsWith(podPrefix));
}
