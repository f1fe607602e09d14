import type { V1Endpoints } from "@kubernetes/client-node";
import { isNotFound, type KubeAccess } from "./client.js";

interface ServiceRouting {
  /** True once the Service's ready endpoints are new pods and nothing else. */
  settled: boolean;
  /** Ready endpoints that are not new pods, at the last look (old pods, or an IP without a pod). */
  others: string[];
}

/**
 * Waits until a Service sends traffic only to the given (new) pods. A rollout is complete when the
 * new pods are ready, but the old ones leave the Service's endpoints a moment later: a request
 * through the Service in that moment can be answered by the old version.
 *
 * Reads v1 Endpoints, which every Kubernetes version still serves (EndpointSlices are the newer
 * view of the same data), a few times a second: the wait is short and bounded, so a watch would
 * only add code. Says at the end whether the Service settled and, if not, which endpoints remain.
 */
export async function waitForServiceOnPods(
  kube: KubeAccess,
  target: { namespace: string; service: string; pods: readonly string[] },
  options: { timeoutMs: number; signal?: AbortSignal | undefined },
): Promise<ServiceRouting> {
  const started = performance.now();
  let routing: ServiceRouting = { settled: false, others: [] };
  for (;;) {
    const endpoints = await kube.core.readNamespacedEndpoints({ name: target.service, namespace: target.namespace }).catch((error: unknown) => {
      if (isNotFound(error)) return undefined;
      throw error;
    });
    routing = routingOf(endpoints ?? {}, target.pods);
    if (routing.settled || options.signal?.aborted || performance.now() - started >= options.timeoutMs) return routing;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Ready addresses exist, and every one of them is one of `pods`. */
export function routingOf(endpoints: V1Endpoints, pods: readonly string[]): ServiceRouting {
  const ready = (endpoints.subsets ?? []).flatMap((subset) => subset.addresses ?? []);
  const names = ready.map((address) => (address.targetRef?.kind === "Pod" ? (address.targetRef.name ?? "?") : address.ip));
  const others = names.filter((name) => !pods.includes(name));
  return { settled: ready.length > 0 && others.length === 0, others };
}

/** What keeps an unsettled Service from routing to the given pods alone: "still sends traffic to a, b" or "has no ready endpoint". */
export function describeUnsettled(routing: ServiceRouting): string {
  return routing.others.length > 0 ? `still sends traffic to ${routing.others.join(", ")}` : "has no ready endpoint";
}
