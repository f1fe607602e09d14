/**
 * The steps both stand-ins share: node containers up, control plane daemon started and answering,
 * and the reverse. kind.ts and minikube.ts wrap them in each tool's flags and words.
 */
import { readFile } from "node:fs/promises";
import { request } from "node:https";
import { startDaemon, stopDaemon, waitForApiServer } from "./daemon-control.js";
import { hostDocker } from "./docker.js";
import { removeKubeconfigEntry } from "./kubeconfig.js";
import { createNode, ensureNetwork, removeNode, type NodeSpec } from "./nodes.js";
import { forgetCluster, loadCluster, loadDaemonInfo, readLedger, saveCluster, SIM_LABEL, type ClusterRecord, type DaemonInfo } from "./state.js";

export interface ClusterPlan extends Omit<ClusterRecord, "nodes" | "createdAt"> {
  nodeSpecs: Omit<NodeSpec, "clusterKey" | "network">[];
  networkOptions?: Parameters<typeof ensureNetwork>[1];
}

/** Creates the network (if missing) and every node, recording the cluster as soon as it has nodes. */
export async function provisionNodes(plan: ClusterPlan): Promise<ClusterRecord> {
  await ensureNetwork(plan.network, plan.networkOptions);
  const { nodeSpecs, networkOptions: _unused, ...rest } = plan;
  const cluster: ClusterRecord = { ...rest, nodes: [], createdAt: new Date().toISOString() };
  for (const spec of nodeSpecs) {
    const node = await createNode({ ...spec, clusterKey: plan.key, network: plan.network });
    cluster.nodes.push(node);
    await saveCluster(cluster);
  }
  return cluster;
}

export async function startClusterDaemon(cluster: ClusterRecord): Promise<DaemonInfo> {
  const pid = await startDaemon(cluster.key);
  return waitForApiServer(cluster.key, pid, await readFile(cluster.pki.ca, "utf8"));
}

/**
 * Stops the daemon, removes the nodes (those recorded and any container carrying the cluster's
 * label, as kind finds nodes by label) and the kubeconfig entry. Returns the removed node names.
 */
export async function destroyCluster(key: string, nodeLabel: string, kubeconfigName: string): Promise<string[]> {
  const cluster = await loadCluster(key);
  const daemon = await loadDaemonInfo(key);
  if (daemon) await stopDaemon(daemon.pid);
  for (const entry of await readLedger()) {
    if (entry.type === "daemon" && entry.cluster === key) await stopDaemon(entry.pid);
  }
  const labelled = await hostDocker.listContainers({ all: true, filters: JSON.stringify({ label: [nodeLabel] }) });
  const names = new Set([...(cluster?.nodes.map((node) => node.container) ?? []), ...labelled.map((info) => (info.Names[0] ?? "").replace(/^\//, ""))]);
  const removed: string[] = [];
  for (const name of [...names].sort()) {
    const record = cluster?.nodes.find((node) => node.container === name);
    await removeNode({ container: name, podCIDR: record?.podCIDR });
    removed.push(name);
  }
  if (cluster) await removeKubeconfigEntry(cluster.kubeconfigPath, kubeconfigName);
  await forgetCluster(key);
  return removed;
}

/** Node containers carrying a label, running or not (what `kind get nodes` lists). */
export async function labelledContainers(label: string): Promise<{ name: string; labels: Record<string, string>; running: boolean }[]> {
  const found = await hostDocker.listContainers({ all: true, filters: JSON.stringify({ label: [label] }) });
  return found
    .map((info) => ({ name: (info.Names[0] ?? "").replace(/^\//, ""), labels: info.Labels, running: info.State === "running" }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** Containers created by this simulator home (for `sim status`). */
export function simContainersLabel(home: string): string {
  return `${SIM_LABEL}=${home}`;
}

/** GET on the cluster's API with the kubeconfig user's certificate; undefined when unreachable. */
export async function apiGet(cluster: ClusterRecord, url: string, path: string): Promise<{ status: number; body: unknown } | undefined> {
  const [ca, cert, key] = await Promise.all([cluster.pki.ca, cluster.pki.clientCert, cluster.pki.clientKey].map((file) => readFile(file, "utf8")));
  return new Promise((resolve) => {
    const req = request(`${url}${path}`, { ca, cert, key, timeout: 5000, headers: { Accept: "application/json" } }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          // not JSON: keep the text
        }
        resolve({ status: res.statusCode ?? 0, body });
      });
    });
    req.on("error", () => resolve(undefined));
    req.on("timeout", () => req.destroy());
    req.end();
  });
}
