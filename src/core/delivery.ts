/**
 * How a built image gets into the cluster: the fastest correct path the cluster offers.
 * Measured on the build machines (README, Benchmarks): a registry push after a code change moves one
 * small layer, while loading the whole 800 MB image into a node takes 10-26 s. So a registry wins
 * whenever one is reachable; minikube's own engine avoids moving the image at all.
 */
import type { ProviderKind } from "./provider-choice.js";

export type DeliveryPath = "registry" | "in-cluster-engine" | "load";

/** KEP-1755 `kube-public/local-registry-hosting`, as the cluster announces it. */
export interface AnnouncedRegistry {
  /** Where the host pushes, e.g. localhost:5001. */
  host: string;
  /** How the node's container runtime names the same registry, if different. */
  hostFromContainerRuntime?: string | undefined;
}

export interface DeliveryInputs {
  provider: ProviderKind;
  /** mlkube.yaml cluster.registry: auto, off, or HOST[:PORT]. */
  registrySetting: string;
  /** "forbidden": this user may not read the announcement (kube-public/local-registry-hosting). */
  announced: AnnouncedRegistry | undefined | "forbidden";
  /** minikube's container runtime (docker, containerd, cri-o); undefined elsewhere. */
  minikubeRuntime?: string | undefined;
  /** Why mlkube's own local registry could not start this session (dev then loads instead). */
  localRegistryUnavailable?: string | undefined;
  /** Why the nodes of an existing kind cluster cannot pull from mlkube's local registry. */
  nodesCannotPull?: string | undefined;
}

export type DeliveryDecision =
  | { path: "registry"; pushTo: string; pullAs: string; reason: string }
  | { path: "in-cluster-engine"; reason: string }
  | { path: "load"; reason: string }
  | { error: string; hint: string };

export function chooseDelivery(inputs: DeliveryInputs): DeliveryDecision {
  const { registrySetting } = inputs;
  const announced = inputs.announced === "forbidden" ? undefined : inputs.announced;
  if (registrySetting !== "auto" && registrySetting !== "off") {
    return { path: "registry", pushTo: registrySetting, pullAs: registrySetting, reason: `mlkube.yaml cluster.registry is ${registrySetting}` };
  }
  if (registrySetting === "auto" && inputs.localRegistryUnavailable && inputs.provider === "kind") {
    // An announcement left from an earlier session names a registry that is not running now.
    return {
      path: "load",
      reason: `the local registry could not start (${inputs.localRegistryUnavailable}): loading the whole image into the node for this session (slower); fix that and restart to use the registry`,
    };
  }
  if (registrySetting === "auto" && inputs.nodesCannotPull && inputs.provider === "kind") {
    // Checked before the announcement: an older session may have announced a registry these nodes never reached.
    return {
      path: "load",
      reason: `${inputs.nodesCannotPull}: loading the whole image into the node instead (slower). For the registry path, use a cluster mlkube creates ('--provider kind', set up with the registry) or recreate this one with kind v0.27 or later`,
    };
  }
  if (registrySetting === "auto" && announced) {
    return {
      path: "registry",
      pushTo: announced.host,
      pullAs: announced.hostFromContainerRuntime ?? announced.host,
      reason: `the cluster announces a registry at ${announced.host} (kube-public/local-registry-hosting); only changed layers move`,
    };
  }
  if (inputs.provider === "minikube" && (inputs.minikubeRuntime ?? "docker") === "docker") {
    return { path: "in-cluster-engine", reason: "minikube runs the docker runtime: building straight into its engine moves nothing" };
  }
  if (inputs.provider === "kind" || inputs.provider === "minikube") {
    const why = registrySetting === "off" ? "cluster.registry is off" : "the cluster announces no registry";
    return { path: "load", reason: `${why}: loading the whole image into the node (slower: every load moves the full image)` };
  }
  if (inputs.announced === "forbidden") {
    return {
      error:
        "No way to get the image into this cluster: this user may not read the registry it may announce (ConfigMap kube-public/local-registry-hosting), and none is configured.",
      hint: "Set cluster.registry in mlkube.yaml to a registry both this machine can push to and the cluster can pull from (e.g. registry.example.com/team), or ask the cluster's admin which one that is.",
    };
  }
  return {
    error: "No way to get the image into this cluster: it announces no registry and none is configured.",
    hint: "Set cluster.registry in mlkube.yaml to a registry both this machine can push to and the cluster can pull from (e.g. registry.example.com/team).",
  };
}

/** The image reference a pod uses for a built `name:tag`, given the delivery path. */
export function podImageFor(decision: Exclude<DeliveryDecision, { error: string }>, repository: string, tag: string): string {
  if (decision.path === "registry") return `${decision.pullAs}/${lastSegment(repository)}:${tag}`;
  return `${repository}:${tag}`;
}

/** The reference the host pushes to. */
export function pushReferenceFor(decision: Extract<DeliveryDecision, { path: "registry" }>, repository: string, tag: string): string {
  return `${decision.pushTo}/${lastSegment(repository)}:${tag}`;
}

function lastSegment(repository: string): string {
  // A repository that already names a registry (localhost:5001/iris) keeps only its path's last part.
  return repository.split("/").at(-1) ?? repository;
}
