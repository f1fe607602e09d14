import type { NodePortClaim } from "../../core/node-port-choice.js";
import { PRUNE_LABEL } from "../../manifests/labels.js";
import type { KubeObject } from "../../manifests/types.js";
import type { KubeAccess } from "./client.js";

/**
 * Every NodePort a Service on the cluster holds, in every namespace (the API server allocates them
 * cluster-wide); only `onlyNamespace`'s when this user may not list Services everywhere.
 */
export async function nodePortClaims(kube: KubeAccess, onlyNamespace?: string): Promise<NodePortClaim[]> {
  const services =
    onlyNamespace === undefined ? await kube.core.listServiceForAllNamespaces() : await kube.core.listNamespacedService({ namespace: onlyNamespace });
  return services.items.flatMap((service) =>
    (service.spec?.ports ?? []).flatMap((port) =>
      port.nodePort
        ? [
            {
              port: port.nodePort,
              namespace: service.metadata?.namespace ?? "default",
              service: service.metadata?.name ?? "?",
              model: service.metadata?.labels?.[PRUNE_LABEL],
            },
          ]
        : [],
    ),
  );
}

/** The NodePorts the rendered objects ask for, to check against the cluster's before applying. */
export function plannedNodePorts(objects: readonly KubeObject[], defaultNamespace: string): NodePortClaim[] {
  return objects
    .filter((object) => object.kind === "Service")
    .flatMap((object) =>
      ((object.spec as { ports?: { nodePort?: unknown }[] } | undefined)?.ports ?? []).flatMap((port) =>
        typeof port.nodePort === "number"
          ? [{ port: port.nodePort, namespace: object.metadata?.namespace ?? defaultNamespace, service: object.metadata?.name ?? "?" }]
          : [],
      ),
    );
}
