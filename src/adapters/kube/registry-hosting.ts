import { parse } from "yaml";
import type { AnnouncedRegistry } from "../../core/delivery.js";
import { applyObject, isForbidden, isNotFound, type KubeAccess } from "./client.js";

/** KEP-1755: where a cluster tells tools about its local registry. */
const NAMESPACE = "kube-public";
const NAME = "local-registry-hosting";
const KEY = "localRegistryHosting.v1";

/**
 * The registry the cluster announces. "forbidden" when this user may not read the ConfigMap:
 * Kubernetes' default RBAC grants no read of kube-public's ConfigMaps (only cluster-info, to
 * kubeadm's bootstrap), so a limited user on a shared cluster usually cannot.
 */
export async function readAnnouncedRegistry(kube: KubeAccess): Promise<AnnouncedRegistry | undefined | "forbidden"> {
  try {
    const configMap = await kube.core.readNamespacedConfigMap({ name: NAME, namespace: NAMESPACE });
    const text = configMap.data?.[KEY];
    if (!text) return undefined;
    const value = parse(text) as { host?: unknown; hostFromContainerRuntime?: unknown } | null;
    if (typeof value?.host !== "string" || value.host === "") return undefined;
    return {
      host: value.host,
      hostFromContainerRuntime: typeof value.hostFromContainerRuntime === "string" ? value.hostFromContainerRuntime : undefined,
    };
  } catch (error) {
    if (isNotFound(error)) return undefined;
    if (isForbidden(error)) return "forbidden";
    throw error;
  }
}

interface RegistryAnnouncement {
  host: string;
  hostFromClusterNetwork: string;
  help: string;
}

export async function announceRegistry(kube: KubeAccess, announcement: RegistryAnnouncement): Promise<void> {
  const text = [`host: "${announcement.host}"`, `hostFromClusterNetwork: "${announcement.hostFromClusterNetwork}"`, `help: "${announcement.help}"`, ""].join(
    "\n",
  );
  await applyObject(kube, {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: NAME, namespace: NAMESPACE, labels: { "app.kubernetes.io/managed-by": "mlkube" } },
    data: { [KEY]: text },
  } as never);
}
