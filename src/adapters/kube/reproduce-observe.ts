/**
 * What `mlkube reproduce` reads from the local cluster: room for the production replicas, the
 * Secrets that already exist, and the model pods' history (starts, readiness, probe failures, OOM
 * kills) that the findings judge.
 */
import type { V1Pod } from "@kubernetes/client-node";
import type { PodHistory } from "../../core/reproduce-findings.js";
import { PRUNE_LABEL } from "../../manifests/labels.js";
import { parseQuantity } from "../../manifests/reproduce-quantity.js";
import type { LocalCapacity } from "../../manifests/reproduce-replicas.js";
import type { KubeAccess } from "./client.js";

/**
 * Allocatable CPU and memory over all nodes, minus what other pods request (the system pods, other
 * models). The model's own running pods (its selector's, in its namespace) are left out: the
 * reproduction replaces them. Its terminating ones count: they hold their requests until they are
 * gone (an earlier reproduction's --cleanup, a pod that ignores SIGTERM for its grace period).
 */
export async function clusterCapacity(kube: KubeAccess, model: { namespace: string; selector: Record<string, string> }): Promise<LocalCapacity> {
  const nodes = (await kube.core.listNode()).items;
  let cpuCores = 0;
  let memoryBytes = 0;
  for (const node of nodes) {
    cpuCores += parseQuantity(node.status?.allocatable?.cpu) ?? 0;
    memoryBytes += parseQuantity(node.status?.allocatable?.memory) ?? 0;
  }
  const isModels = (pod: V1Pod) => pod.metadata?.namespace === model.namespace && Object.entries(model.selector).every(([key, value]) => pod.metadata?.labels?.[key] === value);
  const holdsRequests = (pod: V1Pod) => pod.status?.phase !== "Succeeded" && pod.status?.phase !== "Failed" && (!isModels(pod) || pod.metadata?.deletionTimestamp !== undefined);
  const others = (await kube.core.listPodForAllNamespaces()).items.filter(holdsRequests);
  for (const pod of others) {
    for (const container of pod.spec?.containers ?? []) {
      cpuCores -= parseQuantity(container.resources?.requests?.cpu) ?? 0;
      memoryBytes -= parseQuantity(container.resources?.requests?.memory) ?? 0;
    }
  }
  return { cpuCores: Math.max(cpuCores, 0), memoryBytes: Math.max(memoryBytes, 0), source: `the local cluster's ${nodes.length === 1 ? "node" : `${nodes.length} nodes`}` };
}

/** Secrets in the namespace that someone else created: placeholders must never overwrite them. */
export async function existingSecretNames(kube: KubeAccess, namespace: string, model: string): Promise<string[]> {
  const secrets = (await kube.core.listNamespacedSecret({ namespace })).items;
  // A placeholder from an earlier reproduce carries the model's label: it is rendered again, not "existing".
  return secrets.filter((secret) => secret.metadata?.labels?.[PRUNE_LABEL] !== model).map((secret) => secret.metadata?.name ?? "");
}

/** The live (not terminating) pods of the model's workload, with their readiness probe failures. */
export async function podHistories(kube: KubeAccess, target: { namespace: string; selector: string; container: string }): Promise<PodHistory[]> {
  const { namespace, selector, container } = target;
  const pods = (await kube.core.listNamespacedPod({ namespace, labelSelector: selector })).items.filter((pod) => pod.metadata?.deletionTimestamp === undefined);
  const names = new Set(pods.map((pod) => pod.metadata?.name));
  const events = (await kube.core.listNamespacedEvent({ namespace, fieldSelector: "involvedObject.kind=Pod" })).items.filter(
    (event) => names.has(event.involvedObject.name) && event.reason === "Unhealthy" && (event.message ?? "").startsWith("Readiness probe failed"),
  );
  return pods.map((pod) => {
    const name = pod.metadata?.name ?? "?";
    return {
      name,
      startedAtMs: time(pod.status?.containerStatuses?.find((status) => status.name === container)?.state?.running?.startedAt),
      readyAtMs: readyAt(pod),
      readinessFailures: events.filter((event) => event.involvedObject.name === name).map((event) => ({ message: event.message ?? "", count: event.count ?? 1 })),
      containers: (pod.status?.containerStatuses ?? []).map((status) => ({
        name: status.name,
        restartCount: status.restartCount,
        lastTerminated: status.lastState?.terminated ? { reason: status.lastState.terminated.reason, exitCode: status.lastState.terminated.exitCode } : undefined,
      })),
    };
  });
}

function readyAt(pod: V1Pod): number | undefined {
  const ready = pod.status?.conditions?.find((condition) => condition.type === "Ready");
  return ready?.status === "True" ? time(ready.lastTransitionTime) : undefined;
}

/** client-node turns RFC 3339 fields into Dates; a hand-written object may still hold the string. */
function time(value: Date | string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = value instanceof Date ? value.getTime() : Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}
