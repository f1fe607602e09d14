import type { DeliveryDecision, DeliveryPath } from "../../core/delivery.js";
import type { ProviderChoice } from "../../core/provider-choice.js";
import type { DockerConnection } from "../docker/client.js";
import type { KubeAccess } from "../kube/client.js";
import type { Rights } from "../kube/rights.js";

/** One step of creating or removing a cluster, for live progress. */
export interface ClusterStep {
  title: string;
  status: "running" | "done" | "skipped" | "failed";
  /** Why a step was skipped, or the last line the tool printed. */
  detail?: string | undefined;
}
export type StepReporter = (step: ClusterStep) => void;

/** What `up --dry-run` prints. */
export interface UpPlan {
  choice: ProviderChoice;
  /** The kind cluster configuration (YAML) or the minikube start flags. */
  clusterConfig?: string | undefined;
  startFlags?: string[] | undefined;
  registry?: { container: string; listen: string; image: string } | undefined;
  steps: string[];
}

export interface ClusterStatus {
  choice: ProviderChoice;
  exists: boolean;
  running: boolean;
  nodes: string[];
  registry?: { container: string; listen: string; running: boolean } | undefined;
  /** NodePorts reachable from this machine without a port-forward. */
  mappedNodePorts: number[];
}

export interface BuiltImage {
  repository: string;
  tag: string;
  imageId: string;
}

export interface DeliveryResult {
  path: DeliveryPath;
  /** The image reference the pod spec must use. */
  podImage: string;
  bytesMoved: number;
  durationMs: number;
  detail: string;
}

export interface Endpoint {
  url: string;
  /** How the URL reaches the Service: a mapped port, the node's IP, a tunnel or a port-forward. */
  via: "mapped-port" | "node-ip" | "tunnel" | "port-forward";
  /** Why this way, where it is not the plain one (a tunnel because the node IP is out of reach): shown with the URL. */
  reason?: string | undefined;
  /** Re-establish after a rollout (port-forwards die with their pod). */
  refresh(): Promise<void>;
  /**
   * Why the last connection through a port-forward failed (no ready pod, the API server refused
   * the forward): an HTTP client sees only its connection closed. Absent where nothing is forwarded.
   */
  lastError?: (() => string | undefined) | undefined;
  close(): Promise<void>;
}

export interface ServiceRef {
  namespace: string;
  name: string;
  nodePort: number;
}

/** A cluster that is up: where to build, how to deliver, how to reach the model. */
export interface ReadyCluster {
  choice: ProviderChoice;
  kube: KubeAccess;
  delivery: Exclude<DeliveryDecision, { error: string }>;
  /** The engine to build with: the host's, or minikube's own for in-cluster builds. */
  buildEngine: DockerConnection;
  deliver(image: BuiltImage, options?: { signal?: AbortSignal | undefined; onBytes?: ((bytes: number) => void) | undefined }): Promise<DeliveryResult>;
  endpoint(service: ServiceRef): Promise<Endpoint>;
  /** NodePorts this machine reaches without a port-forward (kind's extraPortMappings); empty where any NodePort is reachable or none is. */
  mappedNodePorts: readonly number[];
  /** What the user may read, where mlkube checked it (a shared cluster: kube/rights.ts); absent means not held back. */
  rights?: Rights | undefined;
  /**
   * Before a build in the cluster's own engine: gives that engine the base images it lacks but the
   * host's engine has (minikube). Returns what it did, for the user; absent where builds run on the host.
   */
  provideBaseImages?(
    images: readonly string[],
    options?: { signal?: AbortSignal | undefined; progress?: ((line: string) => void) | undefined },
  ): Promise<string[]>;
}

export interface EnsureOptions {
  signal?: AbortSignal | undefined;
  /**
   * What to do when mlkube's local registry cannot start (its port taken, its image missing):
   * "fail" (up: the user asked for the cluster as configured) or "load" (dev: deliver by loading
   * whole images for this session, and say why).
   */
  withoutRegistry?: "fail" | "load" | undefined;
}

/** The three operations every cluster type offers. Lifecycle (plan/status/remove) serves up/down/status. */
export interface ClusterProvider {
  readonly choice: ProviderChoice;
  ensure(report: StepReporter, options?: EnsureOptions): Promise<ReadyCluster>;
  plan(): Promise<UpPlan>;
  status(): Promise<ClusterStatus>;
  remove(options: { registry: boolean }, report: StepReporter): Promise<void>;
  /** How this machine reaches a NodePort of the running cluster, changing nothing there (`mlkube test`; ReadyCluster.endpoint is the same). */
  endpoint(kube: KubeAccess, service: ServiceRef): Promise<Endpoint>;
}
