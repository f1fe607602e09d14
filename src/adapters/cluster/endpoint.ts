import { PortForward, type V1Pod } from "@kubernetes/client-node";
import { createServer, type Server, type Socket } from "node:net";
import { UserError } from "../../errors.js";
import type { KubeAccess } from "../kube/client.js";
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
 * host cannot reach. Each local connection gets its own forward (a WebSocket) to the current pod.
 * refresh() (called after every rollout) forgets that pod and closes the open connections: HTTP
 * clients keep connections alive, and a kept one would go on reaching the replaced pod (still
 * serving the old version while it terminates) instead of the new one.
 */
export async function portForwardEndpoint(kube: KubeAccess, service: ServiceRef): Promise<Endpoint> {
  const forward = new PortForward(kube.config);
  let target: Promise<{ pod: string; port: number }> | undefined;
  const resolveTarget = () => (target ??= readyPodFor(kube, service).catch((error: unknown) => {
    target = undefined;
    throw error;
  }));
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    resolveTarget()
      .then(({ pod, port }) => forward.portForward(service.namespace, pod, [port], socket, null, socket))
      .then((ws) => {
        if (typeof ws === "function") return; // only with retries, which are not used here
        // client-node ends neither side for us: when the forward ends (the pod went away, its port
        // refused) the HTTP client would wait on a dead connection, and a local socket closed
        // without a FIN (destroy, reset) would leave the WebSocket and the pod connection open.
        ws.on("close", () => socket.end());
        if (socket.destroyed) ws.close();
        else socket.on("close", () => ws.close());
      })
      .catch(() => {
        target = undefined;
        socket.destroy();
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    via: "port-forward",
    refresh: async () => {
      target = undefined;
      for (const socket of sockets) socket.destroy();
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function readyPodFor(kube: KubeAccess, service: ServiceRef): Promise<{ pod: string; port: number }> {
  const spec = (await kube.core.readNamespacedService({ name: service.name, namespace: service.namespace })).spec;
  const selector = Object.entries(spec?.selector ?? {}).map(([key, value]) => `${key}=${value}`).join(",");
  const servicePort = spec?.ports?.find((port) => port.nodePort === service.nodePort) ?? spec?.ports?.[0];
  const pods = (await kube.core.listNamespacedPod({ namespace: service.namespace, labelSelector: selector })).items;
  const ready = pods.find((pod) => !pod.metadata?.deletionTimestamp && pod.status?.conditions?.some((condition) => condition.type === "Ready" && condition.status === "True"));
  if (!ready?.metadata?.name) {
    throw new UserError("cluster", `No ready pod behind Service ${service.namespace}/${service.name} to forward to.`, { hint: "Wait for the rollout, or check 'mlkube logs'." });
  }
  return { pod: ready.metadata.name, port: containerPortFor(ready, servicePort?.targetPort ?? servicePort?.port) };
}

function containerPortFor(pod: V1Pod, targetPort: number | string | undefined): number {
  if (typeof targetPort === "number") return targetPort;
  const ports = pod.spec?.containers.flatMap((container) => container.ports ?? []) ?? [];
  const named = ports.find((port) => port.name === targetPort) ?? ports[0];
  if (!named) throw new UserError("cluster", `Pod ${pod.metadata?.name} exposes no container port to forward to.`);
  return named.containerPort;
}
