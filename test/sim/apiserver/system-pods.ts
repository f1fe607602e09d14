/**
 * The kube-system pods a fresh cluster runs, as Pod objects bound to their node with kind's and
 * minikube's real requests, so the scheduler (and anyone listing pods, as `mlkube reproduce` does)
 * counts them: on a 2-CPU laptop a kind node has about 1 CPU left for models, not 2.
 *
 * The simulator does not run them (there is no image for them here): they are marked
 * SIMULATED_ONLY, the kubelet leaves them alone, and their status says Running and Ready.
 *
 * Requests, from the manifests the tools install:
 * - kubeadm's static pods (both tools): kube-apiserver 250m, kube-controller-manager 200m,
 *   kube-scheduler 100m, etcd 100m CPU and 100Mi (kubernetes cmd/kubeadm/app/phases/controlplane
 *   and etcd/local.go);
 * - CoreDNS, kubeadm's addon: 100m CPU and 70Mi each; 2 replicas on kind, minikube scales it to 1;
 * - kindnet, kind's CNI DaemonSet: 100m CPU and 50Mi on every node (kind pkg/build/nodeimage/const_cni.go).
 * kube-proxy and storage provisioners request nothing.
 */
import { createHash } from "node:crypto";
import type { SimNode } from "../contract.js";
import type { Registry } from "./registry.js";
import { R } from "./resources.js";
import { nowIso, type KObject } from "./types.js";

/** Marks a pod the kubelet does not run: it exists to be listed and counted. */
export const SIMULATED_ONLY = "io.mlkube.sim/accounted-only";

interface SystemPod {
  name: string;
  labels: Record<string, string>;
  cpu: string;
  memory?: string;
  /** Static pods share the node's network; the others would get a pod IP, which is left out here. */
  hostNetwork: boolean;
  image: string;
}

const STATIC_PODS: { component: string; cpu: string; memory?: string; image: string }[] = [
  { component: "etcd", cpu: "100m", memory: "100Mi", image: "registry.k8s.io/etcd:3.5.16-0" },
  { component: "kube-apiserver", cpu: "250m", image: "registry.k8s.io/kube-apiserver:v1.32.2" },
  { component: "kube-controller-manager", cpu: "200m", image: "registry.k8s.io/kube-controller-manager:v1.32.2" },
  { component: "kube-scheduler", cpu: "100m", image: "registry.k8s.io/kube-scheduler:v1.32.2" },
];

function systemPodsOf(node: SimNode, index: number, tool: "kind" | "minikube"): SystemPod[] {
  const pods: SystemPod[] = [];
  const controlPlane = tool === "kind" ? /-control-plane\d*$/.test(node.name) : index === 0;
  if (controlPlane) {
    for (const pod of STATIC_PODS)
      pods.push({
        name: `${pod.component}-${node.name}`,
        labels: { component: pod.component, tier: "control-plane" },
        cpu: pod.cpu,
        memory: pod.memory,
        hostNetwork: true,
        image: pod.image,
      });
    for (const replica of tool === "kind" ? ["5c6dc8b5c4-7jq4x", "5c6dc8b5c4-m2n9d"] : ["668d6bf9bc-x2k7p"]) {
      pods.push({
        name: `coredns-${replica}`,
        labels: { "k8s-app": "kube-dns", "pod-template-hash": replica.split("-")[0] as string },
        cpu: "100m",
        memory: "70Mi",
        hostNetwork: false,
        image: "registry.k8s.io/coredns/coredns:v1.11.3",
      });
    }
  }
  // A DaemonSet pod's name ends in 5 random characters; here they come from the node's name, so they stay put.
  if (tool === "kind")
    pods.push({
      name: `kindnet-${createHash("sha256").update(node.name).digest("hex").slice(0, 5)}`,
      labels: { app: "kindnet", "k8s-app": "kindnet", tier: "node" },
      cpu: "100m",
      memory: "50Mi",
      hostNetwork: true,
      image: "docker.io/kindest/kindnetd:v20250214-acbabc1a",
    });
  return pods;
}

/** Creates each node's system pods, bound and Running, in kube-system. */
export function createSystemPods(registry: Registry, nodes: readonly SimNode[], tool: "kind" | "minikube"): void {
  nodes.forEach((node, index) => {
    for (const pod of systemPodsOf(node, index, tool)) {
      const requests = { cpu: pod.cpu, ...(pod.memory ? { memory: pod.memory } : {}) };
      const body: KObject = {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: pod.name, namespace: "kube-system", labels: pod.labels, annotations: { [SIMULATED_ONLY]: "true" } },
        spec: {
          nodeName: node.name,
          hostNetwork: pod.hostNetwork,
          priorityClassName: "system-node-critical",
          containers: [{ name: pod.labels.component ?? pod.name.split("-")[0], image: pod.image, resources: { requests } }],
        },
      };
      registry.create(R.pods, "kube-system", body, { manager: "kubelet" });
      const now = nowIso();
      registry.mutate(
        R.pods,
        "kube-system",
        pod.name,
        "kubelet",
        (object) => {
          object.status = {
            phase: "Running",
            hostIP: node.internalIP,
            ...(pod.hostNetwork ? { podIP: node.internalIP } : {}),
            startTime: now,
            conditions: ["Initialized", "Ready", "ContainersReady", "PodScheduled"].map((type) => ({
              type,
              status: "True",
              lastProbeTime: null,
              lastTransitionTime: now,
            })),
            containerStatuses: [
              {
                name: (body.spec as { containers: { name: string }[] }).containers[0]?.name,
                ready: true,
                started: true,
                restartCount: 0,
                image: pod.image,
                imageID: "",
                state: { running: { startedAt: now } },
              },
            ],
          };
        },
        "status",
      );
    }
  });
}

export function isSimulatedOnly(pod: KObject): boolean {
  return pod.metadata.annotations?.[SIMULATED_ONLY] === "true";
}
