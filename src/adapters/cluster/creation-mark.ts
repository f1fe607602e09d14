import { MANAGED_BY, MANAGED_BY_LABEL } from "../../manifests/labels.js";
import { applyObject, connectKube, readKubeConfigIfPresent, type KubeAccess } from "../kube/client.js";

/**
 * A ConfigMap mlkube writes into every cluster it creates. The record on this machine
 * (created-clusters.ts) decides what `mlkube down` may delete; when that record is damaged, this
 * mark, in the cluster itself, still tells mlkube's clusters from the user's own.
 */
export const CREATION_MARK = { namespace: "kube-public", name: "mlkube-created" } as const;

export async function markCreatedByMlkube(kube: KubeAccess, cluster: string): Promise<void> {
  await applyObject(kube, {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { ...CREATION_MARK, labels: { [MANAGED_BY_LABEL]: MANAGED_BY } },
    data: { cluster, createdAt: new Date().toISOString() },
  } as never);
}

/** Whether the cluster behind `context` carries mlkube's creation mark; false when it cannot be asked (stopped, no context). */
export async function carriesCreationMark(context: string): Promise<boolean> {
  const config = readKubeConfigIfPresent();
  if (!config?.contexts.some((entry) => entry.name === context)) return false;
  try {
    const mark = await connectKube(context, config).core.readNamespacedConfigMap(CREATION_MARK);
    return mark.metadata?.labels?.[MANAGED_BY_LABEL] === MANAGED_BY;
  } catch {
    return false; // not there, or the cluster does not answer: nothing identifies it as mlkube's
  }
}
