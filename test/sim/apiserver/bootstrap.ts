/**
 * What a fresh cluster holds before anyone touches it: the system namespaces, the default RBAC
 * roles and bindings (rbac-defaults.ts), one Node per node runtime (labelled and described as kind
 * or minikube describe theirs), and the `kubernetes` Service with its Endpoints.
 */
import { release } from "node:os";
import type { SimNode } from "../contract.js";
import { KUBE_VERSION } from "./discovery.js";
import { defaultClusterRoleBindings, defaultClusterRoles } from "./rbac-defaults.js";
import { KUBERNETES_SERVICE_IP } from "./kinds/service.js";
import type { Registry } from "./registry.js";
import { R } from "./resources.js";
import { nowIso, type KObject } from "./types.js";

const APISERVER = "kube-apiserver";

export function isKindNode(name: string): boolean {
  return /-(control-plane\d*|worker\d*)$/.test(name);
}

/** The taint a kubelet registers its node with until it is Ready (kubernetes pkg/apis/core/well_known_taints.go). */
export const NOT_READY_TAINT = { key: "node.kubernetes.io/not-ready", effect: "NoSchedule" } as const;

/** The kubelet's Ready condition before and after the network plugin is up (kubelet's runtime network check). */
export const NODE_NOT_READY = {
  reason: "KubeletNotReady",
  message:
    "container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized",
};
export const NODE_READY = { reason: "KubeletReady", message: "kubelet is posting ready status" };

export function nodeObject(node: SimNode, index: number, clusterName: string, ready = true): KObject {
  const [os = "linux", arch = "amd64"] = node.architecture.includes("/") ? node.architecture.split("/") : ["linux", node.architecture];
  const kind = isKindNode(node.name);
  const controlPlane = kind ? /-control-plane\d*$/.test(node.name) : index === 0;
  const labels: Record<string, string> = {
    "beta.kubernetes.io/arch": arch,
    "beta.kubernetes.io/os": os,
    "kubernetes.io/arch": arch,
    "kubernetes.io/hostname": node.name,
    "kubernetes.io/os": os,
  };
  if (controlPlane) {
    labels["node-role.kubernetes.io/control-plane"] = "";
    labels["node.kubernetes.io/exclude-from-external-load-balancers"] = "";
  }
  if (!kind) {
    labels["minikube.k8s.io/name"] = clusterName;
    labels["minikube.k8s.io/primary"] = String(index === 0);
  }
  const capacity = {
    cpu: node.allocatable.cpu,
    memory: node.allocatable.memory,
    pods: node.allocatable.pods,
    "ephemeral-storage": "100Gi",
    "hugepages-1Gi": "0",
    "hugepages-2Mi": "0",
  };
  const now = nowIso();
  const condition = (type: string, status: string, reason: string, message: string): Record<string, string> => ({
    type,
    status,
    lastHeartbeatTime: now,
    lastTransitionTime: now,
    reason,
    message,
  });
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name: node.name,
      labels,
      annotations: {
        "node.alpha.kubernetes.io/ttl": "0",
        "volumes.kubernetes.io/controller-managed-attach-detach": "true",
        "kubeadm.alpha.kubernetes.io/cri-socket": kind ? "unix:///run/containerd/containerd.sock" : "unix:///var/run/cri-dockerd.sock",
      },
    },
    spec: {
      podCIDR: `10.244.${index}.0/24`,
      podCIDRs: [`10.244.${index}.0/24`],
      ...(kind ? { providerID: `kind://docker/${clusterName}/${node.name}` } : {}),
      ...(ready ? {} : { taints: [{ ...NOT_READY_TAINT }] }),
    },
    status: {
      capacity,
      allocatable: { ...capacity },
      conditions: [
        condition("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
        condition("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
        condition("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
        ready ? condition("Ready", "True", NODE_READY.reason, NODE_READY.message) : condition("Ready", "False", NODE_NOT_READY.reason, NODE_NOT_READY.message),
      ],
      addresses: [
        { type: "InternalIP", address: node.internalIP },
        { type: "Hostname", address: node.name },
      ],
      daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
      nodeInfo: {
        machineID: "",
        systemUUID: "",
        bootID: "",
        kernelVersion: release(),
        osImage: "Debian GNU/Linux 12 (bookworm)",
        containerRuntimeVersion: kind ? "containerd://2.1.1" : "docker://28.1.1",
        kubeletVersion: KUBE_VERSION.gitVersion,
        kubeProxyVersion: KUBE_VERSION.gitVersion,
        operatingSystem: os,
        architecture: arch,
      },
      images: [],
    },
  };
}

/** READY false: the nodes start NotReady and tainted (controllers/node-readiness.ts makes them Ready). */
export function bootstrap(registry: Registry, nodes: SimNode[], clusterName: string, ready: boolean): void {
  for (const name of ["default", "kube-system", "kube-public", "kube-node-lease"]) {
    registry.create(R.namespaces, undefined, { apiVersion: "v1", kind: "Namespace", metadata: { name } }, { manager: APISERVER });
  }
  for (const role of defaultClusterRoles()) registry.create(R.clusterroles, undefined, role, { manager: APISERVER });
  for (const binding of defaultClusterRoleBindings()) registry.create(R.clusterrolebindings, undefined, binding, { manager: APISERVER });
  nodes.forEach((node, i) => registry.create(R.nodes, undefined, nodeObject(node, i, clusterName, ready), { manager: "kubelet" }));
  registry.create(
    R.services,
    "default",
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "kubernetes", labels: { component: "apiserver", provider: "kubernetes" } },
      spec: { type: "ClusterIP", clusterIP: KUBERNETES_SERVICE_IP, ports: [{ name: "https", port: 443, protocol: "TCP", targetPort: 6443 }] },
    },
    { manager: APISERVER },
  );
  const first = nodes[0];
  if (first) {
    registry.create(
      R.endpoints,
      "default",
      {
        apiVersion: "v1",
        kind: "Endpoints",
        metadata: { name: "kubernetes", labels: { "endpointslice.kubernetes.io/skip-mirror": "true" } },
        subsets: [{ addresses: [{ ip: first.internalIP }], ports: [{ name: "https", port: 6443, protocol: "TCP" }] }],
      },
      { manager: APISERVER },
    );
  }
}
