import { UserError } from "../../errors.js";
import { labelSelector } from "../../manifests/labels.js";
import type { KubeAccess } from "../kube/client.js";
import { forwardLocalPort } from "../kube/pod-forward.js";
import { containerPortFor, isReadyAndStaying } from "../kube/version-pods.js";
import type { Endpoint, ServiceRef } from "./provider.js";

/** kind with an extraPortMapping for the NodePort: the node publishes it on 127.0.0.1. */
export function mappedPortEndpoint(nodePort: number): Endpoint {
  return { url: `http://127.0.0.1:${nodePort}`, via: "mapped-port", refresh: async () => undefined, close: async () => undefined };
}

/** minikube on Linux: the node's IP is reachable from the host. */
export function nodeIpEndpoint(ip: string, nodePort: number): Endpoint {
  return { url: `http://${ip}:${nodePort}`, via: "node-ip", refresh: async () => undefined, close: async () => undefined };
}

/**
 * A port-forward from 127.0.0.1 to a ready pod behind the Service, for clusters whose NodePorts the
 * host cannot reach. refresh() (called after every rollout) forgets that pod and closes the open
 * connections: HTTP clients keep connections alive, and a kept one would go on reaching the
 * replaced pod (still serving the old version while it terminates) instead of the new one.
 */
export async function portForwardEndpoint(kube: KubeAccess, service: ServiceRef): Promise<Endpoint> {
  const forward = await forwardLocalPort(kube, service.namespace, () => readyPodFor(kube, service));
  return {
    url: forward.url,
    via: "port-forward",
    refresh: async () => forward.reset(),
    lastError: () => forward.lastError(),
    close: () => forward.close(),
  };
}

async function readyPodFor(kube: KubeAccess, service: ServiceRef): Promise<{ pod: string; port: number }> {
  const spec = (await kube.core.readNamespacedService({ name: service.name, namespace: service.namespace })).spec;
  const selector = labelSelector(spec?.selector ?? {});
  const servicePort = spec?.ports?.find((port) => port.nodePort === service.nodePort) ?? spec?.ports?.[0];
  const pods = (await kube.core.listNamespacedPod({ namespace: service.namespace, labelSelector: selector })).items;
  const ready = pods.find(isReadyAndStaying);
  if (!ready?.metadata?.name) {
    throw new UserError("cluster", `No ready pod behind Service ${service.namespace}/${service.name} to forward to.`, {
      hint: "Wait for the rollout, or check 'mlkube logs'.",
    });
  }
  return { pod: ready.metadata.name, port: containerPortFor(ready, servicePort?.targetPort ?? servicePort?.port) };
}
