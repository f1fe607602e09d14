/**
 * The simulator's state directory: what exists, so `kind`/`minikube` stand-ins (separate processes)
 * can find each cluster's daemon and nodes, and `npm run sim -- down` can remove everything the
 * simulator ever created, even after a crash.
 *
 *   $MLKUBE_SIM_HOME (default /tmp/mlkube-sim)
 *     ledger.jsonl            one line per thing created outside this directory (append-only)
 *     engine-pki/             CA + client cert the host uses to reach every node's engine over TLS
 *     clusters/<key>/         cluster.json, pki/, daemon.log, daemon.json, control-plane/
 */
import { appendFile, mkdir, readFile, readdir, rm, writeFile, rename } from "node:fs/promises";
import { join } from "node:path";

export const REPO_ROOT = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
export const SIM_DIR = join(REPO_ROOT, "test/sim");

/** Label on every container, volume and network the simulator creates; the value is its home. */
export const SIM_LABEL = "io.mlkube.sim";
/** Routes to pod subnets carry this protocol number, so they can be told apart from others. */
export const ROUTE_PROTO = "199";

export function simHome(): string {
  return process.env.MLKUBE_SIM_HOME ?? "/tmp/mlkube-sim";
}

export type LedgerEntry =
  | { type: "network"; name: string }
  | { type: "container"; name: string }
  | { type: "volume"; name: string }
  | { type: "route"; cidr: string }
  | { type: "cgroup"; path: string }
  | { type: "kubeconfig"; path: string; name: string }
  | { type: "daemon"; pid: number; cluster: string }
  /** A `minikube service` tunnel's child (ssh-forward.ts), which outlives a minikube not stopped by SIGINT. */
  | { type: "forward"; pid: number };

export async function record(entry: LedgerEntry): Promise<void> {
  await mkdir(simHome(), { recursive: true });
  // O_APPEND writes of one short line are atomic, so concurrent stand-ins cannot interleave.
  await appendFile(join(simHome(), "ledger.jsonl"), `${JSON.stringify(entry)}\n`);
}

export async function readLedger(): Promise<LedgerEntry[]> {
  const text = await readFile(join(simHome(), "ledger.jsonl"), "utf8").catch(() => "");
  return text
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as LedgerEntry);
}

export interface NodeRecord {
  /** Docker container name, which is also the Kubernetes node name. */
  container: string;
  role: "control-plane" | "worker";
  ip: string;
  /** 10.244.N.0/24: the node's pod subnet (its inner engine's bridge). */
  podCIDR: string;
}

export interface ClusterRecord {
  /** `kind-NAME` or `minikube-PROFILE`: the directory name under clusters/. */
  key: string;
  tool: "kind" | "minikube";
  /** kind cluster name or minikube profile. */
  name: string;
  network: string;
  nodes: NodeRecord[];
  /** Where the kubeconfig entries were written, so delete removes them from the same file. */
  kubeconfigPath: string;
  /** minikube only: the container runtime the profile was started with. */
  containerRuntime?: string;
  /** kind nodes pull through containerd's hosts.toml; minikube's docker runtime pulls directly. */
  pullMode: "containerd-hosts" | "dockerd";
  /** PEM file paths: the CA the kubeconfig trusts, the API server's pair, the kubeconfig user's pair. */
  pki: { ca: string; apiServerCert: string; apiServerKey: string; clientCert: string; clientKey: string };
  /** 127.0.0.1 port for the API server; 0 lets the control plane pick one. */
  apiServerPort: number;
  createdAt: string;
}

export interface DaemonInfo {
  pid: number;
  url: string;
}

export function clusterDir(key: string): string {
  return join(simHome(), "clusters", key);
}

export async function writeJson(path: string, value: unknown): Promise<void> {
  // Write then rename: readers in other processes never see half a file.
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(value, null, 2)}\n`);
  await rename(temporary, path);
}

export async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, "utf8")) as T;
  } catch {
    return undefined;
  }
}

export async function saveCluster(cluster: ClusterRecord): Promise<void> {
  await mkdir(clusterDir(cluster.key), { recursive: true });
  await writeJson(join(clusterDir(cluster.key), "cluster.json"), cluster);
}

export function loadCluster(key: string): Promise<ClusterRecord | undefined> {
  return readJson<ClusterRecord>(join(clusterDir(key), "cluster.json"));
}

export async function listClusters(): Promise<ClusterRecord[]> {
  const keys = await readdir(join(simHome(), "clusters")).catch(() => [] as string[]);
  const clusters = await Promise.all(keys.map((key) => loadCluster(key)));
  return clusters.filter((cluster): cluster is ClusterRecord => cluster !== undefined);
}

export function loadDaemonInfo(key: string): Promise<DaemonInfo | undefined> {
  return readJson<DaemonInfo>(join(clusterDir(key), "daemon.json"));
}

export async function forgetCluster(key: string): Promise<void> {
  await rm(clusterDir(key), { recursive: true, force: true });
}
