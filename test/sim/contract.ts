/**
 * The seam between the two halves of the cluster simulator:
 * - the control plane (apiserver/: API server stand-in, controllers, kubelet logic), and
 * - the node runtime (node/: node containers on the user's Docker engine, the container runtime
 *   inside each node, NodePort forwarding, the kind/minikube stand-ins that start it all).
 * The control plane decides what should run and computes Kubernetes status; the node runtime makes
 * containers really run. Neither reaches into the other's files.
 */
import type { Readable } from "node:stream";

/** One node of a simulated cluster, as the control plane sees it. */
export interface SimNode {
  /** Kubernetes node name, e.g. `mlkube-control-plane` (kind) or `minikube`. */
  name: string;
  /** The node container's address on its Docker network (what `minikube ip` prints). */
  internalIP: string;
  /** e.g. linux/amd64, reported in node.status.nodeInfo. */
  architecture: string;
  /** Allocatable resources reported on the Node object (the scheduler checks requests against them). */
  allocatable: { cpu: string; memory: string; pods: string };
}

/** What the control plane asks the node runtime to run for one container of a pod. */
export interface ContainerSpec {
  /** Stable id for this attempt: pod uid + container name + restart count. */
  id: string;
  podNamespace: string;
  podName: string;
  podUid: string;
  containerName: string;
  image: string;
  imagePullPolicy: "Always" | "IfNotPresent" | "Never";
  command?: string[] | undefined;
  args?: string[] | undefined;
  env: { name: string; value: string }[];
  workingDir?: string | undefined;
  ports: { containerPort: number; protocol: "TCP" | "UDP" }[];
  /** Bytes; enforced by the runtime so an overrun ends as OOMKilled. */
  memoryLimitBytes?: number | undefined;
  /** Millicores; enforced as a CPU quota. */
  cpuLimitMillis?: number | undefined;
  /** securityContext.runAsUser / runAsNonRoot as the kubelet resolved them. */
  runAsUser?: number | undefined;
  runAsNonRoot?: boolean | undefined;
}

export type PullResult = { ok: true; imageId: string } | { ok: false; reason: "ErrImagePull" | "ErrImageNeverPull"; message: string };

export interface ContainerState {
  status: "created" | "running" | "exited";
  /** Pod IP (all containers of a pod share it). */
  ip?: string | undefined;
  startedAt?: string | undefined;
  finishedAt?: string | undefined;
  exitCode?: number | undefined;
  oomKilled?: boolean | undefined;
  /** Last lines the process wrote to stderr before it ended, for lastState.terminated.message. */
  message?: string | undefined;
  imageId?: string | undefined;
}

export interface LogOptions {
  follow: boolean;
  tailLines?: number | undefined;
  sinceSeconds?: number | undefined;
  timestamps: boolean;
}

/**
 * The streams of one exec session in a container (the CRI's Exec without a TTY). The process's
 * stdin gets the bytes of `stdin` and EOF when it ends; without `stdin` the process's stdin is
 * closed at once, as the kubelet does when the client asked for none.
 */
export interface ExecStreams {
  stdin?: Readable | undefined;
  stdout?: ((chunk: Buffer) => void) | undefined;
  stderr?: ((chunk: Buffer) => void) | undefined;
  /**
   * Aborted when the client went away: stop copying. The process is not killed (containerd
   * does not kill an exec'd process when its streams go); it sees EOF on stdin.
   */
  signal: AbortSignal;
}

/** Forward traffic arriving at a node's nodePort to the ready endpoints (what kube-proxy does). */
export interface NodePortRule {
  nodePort: number;
  protocol: "TCP" | "UDP";
  /** Ready endpoints only; empty means connections are refused, as with kube-proxy. */
  targets: { ip: string; port: number }[];
}

/** The container runtime of one node. Implemented by node/, used by the kubelet in apiserver/. */
export interface NodeRuntime {
  readonly node: SimNode;
  /** Pulls as the node's runtime would: through /etc/containerd/certs.d/<registry>/hosts.toml. */
  pullImage(image: string, policy: ContainerSpec["imagePullPolicy"], signal?: AbortSignal): Promise<PullResult>;
  /** Creates and starts the container; resolves once it was started (or failed to start). */
  startContainer(spec: ContainerSpec): Promise<ContainerState>;
  inspectContainer(id: string): Promise<ContainerState | undefined>;
  /** Resolves when the container exits, with its final state. */
  waitContainer(id: string): Promise<ContainerState>;
  stopContainer(id: string, gracePeriodSeconds: number): Promise<void>;
  removeContainer(id: string): Promise<void>;
  /** Raw log bytes of one container attempt (stdout and stderr interleaved, as kubectl shows). */
  containerLogs(id: string, options: LogOptions): Promise<Readable>;
  /** An HTTP GET from the node's network to a pod, as the kubelet's probes do. */
  httpProbe(ip: string, port: number, path: string, timeoutMs: number): Promise<{ ok: boolean; status?: number; error?: string }>;
  /** A TCP connect from the node's network to a pod, as the kubelet's tcpSocket probes do; error worded like Go's dialer. */
  tcpProbe(ip: string, port: number, timeoutMs: number): Promise<{ ok: boolean; error?: string }>;
  syncNodePorts(rules: NodePortRule[]): Promise<void>;
  /**
   * Runs `command` in the running container `id` (what containerd does for the kubelet's exec):
   * resolves with the exit code once the process ended and its output was delivered; rejects when
   * the command could not be run, with the runtime's message.
   */
  execInContainer(id: string, command: string[], streams: ExecStreams): Promise<number>;
}

/** What the background process of one simulated cluster hands the control plane on start. */
export interface ControlPlaneOptions {
  clusterName: string;
  /** 127.0.0.1 port for the API server; 0 picks a free one. */
  port: number;
  /**
   * PEM server certificate and key for HTTPS (the kubeconfig trusts the CA that signed it), and the
   * cluster CA that client certificates must be signed by (the kubeconfig's user is one of them).
   */
  tls: { cert: string; key: string; clientCA: string };
  runtimes: NodeRuntime[];
  /** Directory for the control plane's own files (logs, persisted state if any). */
  stateDir: string;
}

export interface RunningControlPlane {
  /** https://127.0.0.1:PORT */
  url: string;
  close(): Promise<void>;
}
