/**
 * `npm run sim -- down`: removes everything this simulator home ever started or created, found
 * through the ledger and the home's label (so a crash midway leaves nothing it cannot find):
 * daemons, containers and their volumes, networks it created (other containers are disconnected
 * first, e.g. the kind-registry mlkube attached), pod routes, cgroups, kubeconfig entries written
 * outside the home, and the home directory itself. Images stay unless asked (they are a cache).
 */
import { readFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { stopDaemon } from "./daemon-control.js";
import { hostDocker, isNotFound } from "./docker.js";
import { removeSimImages } from "./images.js";
import { removeKubeconfigEntry } from "./kubeconfig.js";
import { removeCgroups, removeRoute } from "./nodes.js";
import { listClusters, loadDaemonInfo, readLedger, SIM_LABEL, simHome } from "./state.js";

export interface DownReport {
  daemons: number;
  forwards: number;
  containers: string[];
  networks: string[];
  volumes: string[];
  images: string[];
}

export async function simDown(options: { images?: boolean } = {}): Promise<DownReport> {
  const home = simHome();
  const ledger = await readLedger();
  const report: DownReport = { daemons: 0, forwards: 0, containers: [], networks: [], volumes: [], images: [] };
  const label = JSON.stringify({ label: [`${SIM_LABEL}=${home}`] });

  const pids = new Set<number>();
  for (const cluster of await listClusters()) {
    const daemon = await loadDaemonInfo(cluster.key);
    if (daemon) pids.add(daemon.pid);
  }
  for (const entry of ledger) if (entry.type === "daemon") pids.add(entry.pid);
  for (const pid of pids) if (await stopDaemon(pid)) report.daemons += 1;
  // Tunnel children a minikube left behind (real minikube leaves its ssh too; the simulator's own
  // clean-up removes what it started). Only a pid that still runs ssh-forward.ts is ours.
  for (const entry of ledger) {
    if (entry.type !== "forward" || !runsForward(entry.pid)) continue;
    process.kill(entry.pid, "SIGKILL");
    report.forwards += 1;
  }

  for (const container of await hostDocker.listContainers({ all: true, filters: label })) {
    await hostDocker.getContainer(container.Id).remove({ force: true, v: true }).catch(ignoreMissing);
    report.containers.push((container.Names[0] ?? container.Id).replace(/^\//, ""));
  }

  const { Volumes: volumes } = await hostDocker.listVolumes({ filters: label });
  for (const volume of volumes ?? []) {
    await hostDocker.getVolume(volume.Name).remove().catch(ignoreMissing);
    report.volumes.push(volume.Name);
  }

  for (const entry of ledger) {
    if (entry.type !== "network") continue;
    try {
      const network = hostDocker.getNetwork(entry.name);
      const details = await network.inspect();
      if (details.Labels?.[SIM_LABEL] !== home) continue;
      for (const id of Object.keys(details.Containers ?? {})) await network.disconnect({ Container: id, Force: true }).catch(ignoreMissing);
      await network.remove();
      report.networks.push(entry.name);
    } catch (error) {
      ignoreMissing(error);
    }
  }

  for (const entry of ledger) {
    if (entry.type === "route") await removeRoute(entry.cidr);
    if (entry.type === "cgroup") await removeCgroups(entry.path);
    if (entry.type === "kubeconfig" && !entry.path.startsWith(`${home}/`)) await removeKubeconfigEntry(entry.path, entry.name).catch(() => undefined);
  }

  await rm(home, { recursive: true, force: true });
  if (options.images) report.images = await removeSimImages();
  return report;
}

function ignoreMissing(error: unknown): void {
  if (!isNotFound(error)) throw error;
}

function runsForward(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("ssh-forward.ts");
  } catch {
    return false; // gone
  }
}
