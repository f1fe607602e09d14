/**
 * The background process of one simulated cluster (started detached by `kind create cluster` /
 * `minikube start`): builds a NodeRuntime per node container and runs the control plane
 * (apiserver/, the other half of the simulator) with them, then publishes its URL in daemon.json.
 * It exits on SIGTERM/SIGINT, and by itself when its cluster's record or node containers disappear,
 * so a cluster removed behind the simulator's back leaves no process behind.
 *
 * Usage: node --import tsx test/sim/cluster-daemon.ts CLUSTER_KEY
 */
import { readFile, mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { ControlPlaneOptions, RunningControlPlane } from "./contract.js";
import { hostDocker, isNotFound } from "./docker.js";
import { nodeEngine } from "./node/engine.js";
import { DockerNodeRuntime } from "./node/runtime.js";
import { clusterDir, loadCluster, writeJson } from "./state.js";

const WATCHDOG_MS = 5000;

function log(message: string): void {
  console.log(`${new Date().toISOString()} ${message}`);
}

async function buildRuntimes(key: string): Promise<DockerNodeRuntime[]> {
  const cluster = await loadCluster(key);
  if (!cluster) throw new Error(`no cluster ${key} in the simulator's state`);
  return Promise.all(
    cluster.nodes.map(async (node) => {
      const engine = nodeEngine(node.ip);
      const info = (await engine.info()) as { NCPU?: number; MemTotal?: number };
      return new DockerNodeRuntime({
        node: {
          name: node.container,
          internalIP: node.ip,
          architecture: `linux/${process.arch === "x64" ? "amd64" : process.arch}`,
          allocatable: { cpu: String(info.NCPU ?? 1), memory: `${Math.floor((info.MemTotal ?? 2 ** 31) / 1024)}Ki`, pods: "110" },
        },
        nodeContainer: node.container,
        host: hostDocker,
        engine,
        pullMode: cluster.pullMode,
      });
    }),
  );
}

async function clusterStillExists(key: string): Promise<boolean> {
  const cluster = await loadCluster(key);
  if (!cluster) return false;
  for (const node of cluster.nodes) {
    try {
      await hostDocker.getContainer(node.container).inspect();
    } catch (error) {
      if (isNotFound(error)) return false;
    }
  }
  return true;
}

async function main(): Promise<void> {
  const key = process.argv[2];
  if (!key) throw new Error("usage: cluster-daemon.ts CLUSTER_KEY");
  const cluster = await loadCluster(key);
  if (!cluster) throw new Error(`no cluster ${key} in the simulator's state`);
  const runtimes = await buildRuntimes(key);
  // Resolved at run time, so this file type-checks before apiserver/ exists. The stand-ins' own
  // tests swap in stub-control-plane.ts through MLKUBE_SIM_CONTROL_PLANE.
  const apiserver = process.env.MLKUBE_SIM_CONTROL_PLANE ?? "./apiserver/index.js";
  const { startControlPlane } = (await import(apiserver)) as { startControlPlane: (options: ControlPlaneOptions) => Promise<RunningControlPlane> };
  const stateDir = join(clusterDir(key), "control-plane");
  await mkdir(stateDir, { recursive: true });
  const plane = await startControlPlane({
    clusterName: cluster.name,
    port: cluster.apiServerPort,
    tls: {
      cert: await readFile(cluster.pki.apiServerCert, "utf8"),
      key: await readFile(cluster.pki.apiServerKey, "utf8"),
      clientCA: await readFile(cluster.pki.ca, "utf8"),
    },
    runtimes,
    stateDir,
  });
  await writeJson(join(clusterDir(key), "daemon.json"), { pid: process.pid, url: plane.url });
  log(`control plane of ${key} serving at ${plane.url} with ${runtimes.length} node(s)`);

  let stopping = false;
  const stop = async (reason: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log(`stopping: ${reason}`);
    clearInterval(watchdog);
    for (const runtime of runtimes) runtime.close();
    await Promise.race([plane.close(), new Promise((resolve) => setTimeout(resolve, 5000))]);
    process.exit(0);
  };
  const watchdog = setInterval(() => {
    void clusterStillExists(key).then((exists) => (exists ? undefined : stop("the cluster's record or a node container is gone")));
  }, WATCHDOG_MS);
  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGINT", () => void stop("SIGINT"));
}

main().catch((error: unknown) => {
  log(`fatal: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exit(1);
});
