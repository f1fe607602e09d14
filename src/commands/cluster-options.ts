import { loadClusterSettings } from "../config/load.js";
import { connectDocker, ensureDockerReachable } from "../adapters/docker/client.js";
import { selectProvider, type ClusterFlags } from "../adapters/cluster/select.js";
import type { ClusterProvider } from "../adapters/cluster/provider.js";

export interface ClusterCommandOptions extends ClusterFlags {
  json?: boolean;
}

/** The provider for DIR's configuration and the flags, after checking the engine answers. */
export async function providerFor(dir: string, flags: ClusterFlags): Promise<ClusterProvider> {
  const settings = await loadClusterSettings(dir);
  const docker = connectDocker();
  await ensureDockerReachable(docker);
  return selectProvider(settings, flags, { docker });
}

export function describeChoice(provider: ClusterProvider): string {
  const { kind, clusterName, context, reason } = provider.choice;
  const what = kind === "kind" ? `kind cluster '${clusterName}'` : kind === "minikube" ? `minikube profile '${clusterName}'` : `existing context '${context}'`;
  return `cluster: ${what} (context ${context}), because ${reason}`;
}
