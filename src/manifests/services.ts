/**
 * Services in the user's manifests, made to work on a local cluster: there is no load balancer, so
 * a LoadBalancer Service becomes a NodePort one, and the Service in front of the model gets the
 * pinned nodePort, the one port the host can reach (kind maps it when the cluster is created).
 */
import { isRecord, listAt, recordAt, type JsonRecord, type KubeObject } from "./types.js";

/** Fields that only mean something to a cloud load balancer; the API rejects some on a NodePort. */
const LOAD_BALANCER_FIELDS = ["loadBalancerIP", "loadBalancerSourceRanges", "loadBalancerClass", "allocateLoadBalancerNodePorts", "healthCheckNodePort"];

export interface ContainerPort {
  containerPort: number;
  name?: string | undefined;
}

export interface ModelPods {
  /** Labels of the model's pods (its pod template's). */
  labels: Record<string, string>;
  /** The model container's ports (never empty): numbers and names a targetPort may refer to. */
  ports: [ContainerPort, ...ContainerPort[]];
}

/** True when the Service routes to the model's pods: its selector is a subset of their labels. */
export function selectsModel(service: KubeObject, pods: ModelPods): boolean {
  const spec = recordAt(service, "spec");
  // A headless Service has no ClusterIP and cannot be a NodePort: it cannot expose the model.
  if (spec?.clusterIP === "None" || spec?.type === "ExternalName") return false;
  const selector = recordAt(spec, "selector");
  if (selector === undefined || Object.keys(selector).length === 0) return false;
  return Object.entries(selector).every(([key, value]) => pods.labels[key] === value);
}

/**
 * Adapts a Service to the local cluster: a LoadBalancer becomes a NodePort (without the fields
 * only a load balancer uses), and the Service in front of the model (`model` given) exposes the
 * port that targets the model's container on the pinned nodePort. Returns what changed, or
 * undefined when nothing did.
 */
export function adaptService(service: KubeObject, model?: { pods: ModelPods; nodePort: number }): string | undefined {
  const spec = recordAt(service, "spec");
  if (spec === undefined) return undefined;
  const typeBefore = String(spec.type ?? "ClusterIP");
  const removed = typeBefore === "LoadBalancer" ? LOAD_BALANCER_FIELDS.filter((field) => field in spec) : [];
  for (const field of removed) delete spec[field];
  if (typeBefore === "LoadBalancer") spec.type = "NodePort";

  let before = typeBefore;
  let after = String(spec.type);
  const ports = listAt(spec, "ports").filter(isRecord);
  const port = model && (ports.find((candidate) => targetsModel(candidate, model.pods)) ?? ports[0]);
  if (model && port) {
    if (port.nodePort !== undefined) before += ` ${String(port.nodePort)}`;
    spec.type = "NodePort";
    port.nodePort = model.nodePort;
    after = `NodePort ${model.nodePort}`;
  }
  if (before === after) return undefined;
  const why = typeBefore === "LoadBalancer" ? "no load balancer on a local cluster" : "the port mlkube reaches the model on";
  return `${before} -> ${after} (${why})${removed.length > 0 ? `; removed ${removed.join(", ")}` : ""}`;
}

function targetsModel(port: JsonRecord, pods: ModelPods): boolean {
  // targetPort defaults to port, and may name a container port instead of numbering it.
  const target = port.targetPort ?? port.port;
  return pods.ports.some((containerPort) => target === containerPort.containerPort || (containerPort.name !== undefined && target === containerPort.name));
}

/** A NodePort Service for model pods the user's manifests do not expose (transform.ts labels it). */
export function serviceForModel(name: string, namespace: string, selector: Record<string, string>, port: ContainerPort, nodePort: number): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace },
    spec: {
      type: "NodePort",
      selector,
      ports: [{ name: "http", port: port.containerPort, targetPort: port.name ?? port.containerPort, nodePort, protocol: "TCP" }],
    },
  };
}
