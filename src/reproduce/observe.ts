/**
 * What `mlkube reproduce` reads from the local cluster: room for the production replicas, the
 * Secrets that already exist, and the model pods' history (starts, readiness, probe failures, OOM
 * kills) that the findings judge. On a shared cluster (`--provider context`) any of these reads can
 * be forbidden; each has a way to do without, said in one note, and none is asked twice.
 */
import type { V1Pod } from "@kubernetes/client-node";
import { availableParallelism, totalmem } from "node:os";
import type { PodHistory } from "./findings.js";
import { PRUNE_LABEL } from "../manifests/labels.js";
import { parseQuantity } from "./quantity.js";
import type { LocalCapacity } from "./replicas.js";
import { isForbidden, type KubeAccess } from "../adapters/kube/client.js";

/**
 * Allocatable CPU and memory over all nodes, minus what other pods request (the system pods, other
 * models). The model's own running pods (its selector's, in its namespace) are left out: the
 * reproduction replaces them. Its terminating ones count: they hold their requests until they are
 * gone (an earlier reproduction's --cleanup, a pod that ignores SIGTERM for its grace period).
 */
export async function clusterCapacity(
  kube: KubeAccess,
  model: { namespace: string; selector: Record<string, string> },
  options: { machine: LocalCapacity; note: (line: string) => void },
): Promise<LocalCapacity> {
  const nodes = await unlessForbidden(kube.core.listNode().then((list) => list.items));
  if (nodes === undefined) {
    options.note(`this user may not list nodes: replicas are fitted to ${options.machine.source} instead`);
    return options.machine;
  }
  let cpuCores = 0;
  let memoryBytes = 0;
  for (const node of nodes) {
    cpuCores += parseQuantity(node.status?.allocatable?.cpu) ?? 0;
    memoryBytes += parseQuantity(node.status?.allocatable?.memory) ?? 0;
  }
  const isModels = (pod: V1Pod) =>
    pod.metadata?.namespace === model.namespace && Object.entries(model.selector).every(([key, value]) => pod.metadata?.labels?.[key] === value);
  const holdsRequests = (pod: V1Pod) =>
    pod.status?.phase !== "Succeeded" && pod.status?.phase !== "Failed" && (!isModels(pod) || pod.metadata?.deletionTimestamp !== undefined);
  let pods = await unlessForbidden(kube.core.listPodForAllNamespaces().then((list) => list.items));
  if (pods === undefined) {
    options.note(`this user may not list pods in all namespaces: only the requests of pods in namespace ${model.namespace} are counted against the nodes`);
    pods = (await kube.core.listNamespacedPod({ namespace: model.namespace })).items;
  }
  const others = pods.filter(holdsRequests);
  for (const pod of others) {
    for (const container of pod.spec?.containers ?? []) {
      cpuCores -= parseQuantity(container.resources?.requests?.cpu) ?? 0;
      memoryBytes -= parseQuantity(container.resources?.requests?.memory) ?? 0;
    }
  }
  return {
    cpuCores: Math.max(cpuCores, 0),
    memoryBytes: Math.max(memoryBytes, 0),
    source: `the local cluster's ${nodes.length === 1 ? "node" : `${nodes.length} nodes`}`,
  };
}

/**
 * Secrets in the namespace that someone else created: placeholders must never overwrite them.
 * "unknown" when this user may not list them: then none is overwritten either.
 */
export async function existingSecretNames(kube: KubeAccess, namespace: string, model: string): Promise<string[] | "unknown"> {
  const secrets = await unlessForbidden(kube.core.listNamespacedSecret({ namespace }).then((list) => list.items));
  if (secrets === undefined) return "unknown";
  // A placeholder from an earlier reproduce carries the model's label: it is rendered again, not "existing".
  return secrets.filter((secret) => secret.metadata?.labels?.[PRUNE_LABEL] !== model).map((secret) => secret.metadata?.name ?? "");
}

/**
 * The live (not terminating) pods of the model's workload, with their readiness probe failures
 * (from the pods' events; none when this user may not list events, said once through `note`).
 */
export async function podHistories(
  kube: KubeAccess,
  target: { namespace: string; selector: string; container: string },
  note: (line: string) => void,
): Promise<PodHistory[]> {
  const { namespace, selector, container } = target;
  const pods = (await kube.core.listNamespacedPod({ namespace, labelSelector: selector })).items.filter((pod) => pod.metadata?.deletionTimestamp === undefined);
  const names = new Set(pods.map((pod) => pod.metadata?.name));
  const listed = await unlessForbidden(kube.core.listNamespacedEvent({ namespace, fieldSelector: "involvedObject.kind=Pod" }).then((list) => list.items));
  if (listed === undefined) note(`this user may not list events in namespace ${namespace}: readiness probe failures are not reported`);
  const events = (listed ?? []).filter(
    (event) => names.has(event.involvedObject.name) && event.reason === "Unhealthy" && (event.message ?? "").startsWith("Readiness probe failed"),
  );
  return pods.map((pod) => {
    const name = pod.metadata?.name ?? "?";
    return {
      name,
      startedAtMs: time(pod.status?.containerStatuses?.find((status) => status.name === container)?.state?.running?.startedAt),
      readyAtMs: readyAt(pod),
      readinessFailures: events
        .filter((event) => event.involvedObject.name === name)
        .map((event) => ({ message: event.message ?? "", count: event.count ?? 1 })),
      containers: (pod.status?.containerStatuses ?? []).map((status) => ({
        name: status.name,
        restartCount: status.restartCount,
        lastTerminated: status.lastState?.terminated
          ? { reason: status.lastState.terminated.reason, exitCode: status.lastState.terminated.exitCode }
          : undefined,
      })),
    };
  });
}

/** The read's answer, or undefined when the API server forbids it (any other error still fails). */
async function unlessForbidden<T>(read: Promise<T>): Promise<T | undefined> {
  try {
    return await read;
  } catch (error) {
    if (isForbidden(error)) return undefined;
    throw error;
  }
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

/** Without the cluster, the room for replicas is this machine's: kind and minikube nodes share it. */
export function machineCapacity(): LocalCapacity {
  return { cpuCores: availableParallelism(), memoryBytes: totalmem(), source: "this machine" };
}
