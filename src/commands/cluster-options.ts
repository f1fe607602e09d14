import { loadClusterSettings } from "../config/load.js";
import { connectDocker, ensureDockerReachable } from "../adapters/docker/client.js";
import { selectProvider, type ClusterFlags, type ProviderDeps } from "../adapters/cluster/select.js";
import type { ClusterProvider } from "../adapters/cluster/provider.js";

export interface ClusterCommandOptions extends ClusterFlags {
  json?: boolean;
}

/** The provider for DIR's configuration and the flags, after checking the engine answers; `offerKind` (only `up`'s) may install kind. */
export async function providerFor(dir: string, flags: ClusterFlags, offerKind?: ProviderDeps["offerKind"]): Promise<ClusterProvider> {
  const settings = await loadClusterSettings(dir);
  const docker = connectDocker();
  await ensureDockerReachable(docker);
  return selectProvider(settings, flags, { docker, offerKind });
}

export function describeChoice(provider: ClusterProvider): string {
  const { kind, clusterName, context, reason } = provider.choice;
  const what = kind === "kind" ? `kind cluster '${clusterName}'` : kind === "minikube" ? `minikube profile '${clusterName}'` : `existing context '${context}'`;
  return `cluster: ${what} (context ${context}), because ${reason}`;
}
