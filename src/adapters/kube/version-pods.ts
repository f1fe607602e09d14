import type { V1Pod, V1Service } from "@kubernetes/client-node";
import { UserError } from "../../errors.js";
import { labelSelector } from "../../manifests/labels.js";
import type { KubeAccess } from "./client.js";
import type { PodRun } from "../../core/live/drift.js";
import type { PodTarget } from "./pod-forward.js";

export interface ServingVersion {
  /** The pod-template-hash of the Deployment's current ReplicaSet. */
  templateHash: string;
  /** Its ready pods that are not being deleted, with the port the Service sends traffic to. */
  pods: PodTarget[];
  /** All its pods that are not being deleted, ready or not, with their containers' restarts (live update's drift check). */
  runs: PodRun[];
}

/**
 * The pods of the version the Deployment rolled out last: those of the ReplicaSet whose revision
 * is the Deployment's (as the Deployment controller marks it), ready and not terminating. Old
 * ReplicaSets' pods may still run and answer for a while (until their grace period ends), so the
 * pod-template-hash, not the label selector alone, says which version a pod is.
 */
export async function servingVersion(
  kube: KubeAccess,
  target: { namespace: string; deployment: string; service: string | undefined; nodePort?: number | undefined },
): Promise<ServingVersion> {
  const { namespace, deployment: name } = target;
  // Two rounds of requests, not four: this runs on every sync and every test, where it is waited for.
  const [deployment, service] = await Promise.all([
    kube.apps.readNamespacedDeployment({ name, namespace }),
    target.service ? kube.core.readNamespacedService({ name: target.service, namespace }) : undefined,
  ]);
  const selector = labelSelector(deployment.spec?.selector.matchLabels ?? {});
  const revision = deployment.metadata?.annotations?.["deployment.kubernetes.io/revision"];
  const [replicaSets, selected] = await Promise.all([
    kube.apps.listNamespacedReplicaSet({ namespace, labelSelector: selector }).then((list) => list.items),
    kube.core.listNamespacedPod({ namespace, labelSelector: selector }).then((list) => list.items),
  ]);
  const current = replicaSets.find(
    (set) =>
      set.metadata?.ownerReferences?.some((owner) => owner.uid === deployment.metadata?.uid) &&
      revision !== undefined &&
      set.metadata?.annotations?.["deployment.kubernetes.io/revision"] === revision,
  );
  const templateHash = current?.metadata?.labels?.["pod-template-hash"];
  if (!templateHash) {
    throw new UserError(
      "rollout",
      `Deployment ${namespace}/${name} has no current ReplicaSet yet (revision ${revision ?? "none"}): there is no new version to test.`,
      {
        hint: "Wait for the rollout to start ('mlkube status'), then press t to test again.",
      },
    );
  }
  const pods = selected.filter((pod) => pod.metadata?.labels?.["pod-template-hash"] === templateHash);
  return {
    templateHash,
    pods: pods.filter(isReadyAndStaying).map((pod) => ({ pod: pod.metadata?.name ?? "", port: servicePortOn(pod, service, target.nodePort) })),
    runs: pods
      .filter((pod) => !pod.metadata?.deletionTimestamp)
      .map((pod) => ({
        name: pod.metadata?.name ?? "",
        restarts: (pod.status?.containerStatuses ?? []).reduce((sum, container) => sum + container.restartCount, 0),
      })),
  };
}

/** Ready, and not being deleted: a pod that answers and will go on answering. */
export function isReadyAndStaying(pod: V1Pod): boolean {
  return !pod.metadata?.deletionTimestamp && (pod.status?.conditions?.some((condition) => condition.type === "Ready" && condition.status === "True") ?? false);
}

/**
 * The container port the model's Service port sends to: the one on the model's NodePort (every port
 * of a NodePort Service has a nodePort, and a metrics port may come first), else the first; without
 * a Service, the first declared port.
 */
function servicePortOn(pod: V1Pod, service: V1Service | undefined, nodePort: number | undefined): number {
  const ports = service?.spec?.ports ?? [];
  const servicePort = ports.find((port) => nodePort !== undefined && port.nodePort === nodePort) ?? ports.find((port) => port.nodePort) ?? ports[0];
  return containerPortFor(pod, servicePort?.targetPort ?? servicePort?.port);
}

export function containerPortFor(pod: V1Pod, targetPort: number | string | undefined): number {
  if (typeof targetPort === "number") return targetPort;
  if (typeof targetPort === "string" && /^\d+$/.test(targetPort)) return Number(targetPort);
  const ports = pod.spec?.containers.flatMap((container) => container.ports ?? []) ?? [];
  const named = ports.find((port) => port.name === targetPort) ?? ports[0];
  if (!named)
    throw new UserError("cluster", `Pod ${pod.metadata?.name} exposes no container port to send requests to.`, {
      hint: "Declare the model's port (containerPort) in the Deployment, or set 'port' in mlkube.yaml.",
    });
  return named.containerPort;
}
