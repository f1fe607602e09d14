import type { V1Service } from "@kubernetes/client-node";
import { connectKube, readKubeConfig } from "../adapters/kube/client.js";
import { liveAhead } from "../adapters/kube/live-annotation.js";
import { describeLive } from "../core/live/describe.js";
import { MANAGED_BY, MANAGED_BY_LABEL, PRUNE_LABEL, labelSelector } from "../manifests/labels.js";
import { describeChoice, providerFor, type ClusterCommandOptions } from "./cluster-options.js";

interface DeploymentStatus {
  namespace: string;
  name: string;
  ready: string;
  image: string | undefined;
  url: string | undefined;
  /** Files `mlkube dev` synced into the pods that the image does not have (live update). */
  liveAhead: string[];
}

/** `mlkube status`: the cluster, its context, registry, nodes, mlkube's deployments and their URLs. */
export async function runStatusCommand(dir: string, options: ClusterCommandOptions): Promise<number> {
  const provider = await providerFor(dir, options);
  const status = await provider.status();
  const deployments = status.running ? await listModelDeployments(provider.choice.context, status.mappedNodePorts, status.nodes) : [];
  if (options.json) {
    process.stdout.write(`${JSON.stringify({ ...status, deployments })}\n`);
    return 0;
  }
  const lines = [
    describeChoice(provider),
    `state: ${status.running ? "running" : status.exists ? "stopped" : "not created (run 'mlkube up')"}`,
    `nodes: ${status.nodes.join(", ") || "none"}`,
  ];
  if (status.registry)
    lines.push(`registry: ${status.registry.container} on ${status.registry.listen} (${status.registry.running ? "running" : "not running"})`);
  if (status.mappedNodePorts.length > 0) lines.push(`node ports on 127.0.0.1: ${status.mappedNodePorts.join(", ")}`);
  lines.push(deployments.length === 0 ? "deployments: none from mlkube" : "deployments:");
  for (const deployment of deployments) {
    lines.push(`  ${deployment.namespace}/${deployment.name}  ready ${deployment.ready}  ${deployment.image ?? ""}  ${deployment.url ?? ""}`.trimEnd());
    if (deployment.liveAhead.length > 0) lines.push(`    ${describeLive({ ahead: deployment.liveAhead, image: deployment.image })}`);
  }
  process.stdout.write(`${lines.join("\n")}\n`);
  return 0;
}

async function listModelDeployments(context: string, mappedNodePorts: number[], nodes: string[]): Promise<DeploymentStatus[]> {
  const kube = connectKube(context, readKubeConfig());
  const selector = labelSelector({ [MANAGED_BY_LABEL]: MANAGED_BY });
  const [deployments, services] = await Promise.all([
    kube.apps.listDeploymentForAllNamespaces({ labelSelector: selector }),
    kube.core.listServiceForAllNamespaces({ labelSelector: selector }),
  ]);
  const nodeIp = /\(([\d.]+)\)$/.exec(nodes[0] ?? "")?.[1];
  return deployments.items.map((deployment) => {
    const namespace = deployment.metadata?.namespace ?? "default";
    const name = deployment.metadata?.name ?? "?";
    // The generated Service is named like the Deployment; one from the user's manifests carries the model's label.
    const model = deployment.metadata?.labels?.[PRUNE_LABEL];
    const inNamespace = services.items.filter((candidate) => candidate.metadata?.namespace === namespace);
    const service =
      inNamespace.find((candidate) => candidate.metadata?.name === name) ??
      inNamespace.find((candidate) => model !== undefined && candidate.metadata?.labels?.[PRUNE_LABEL] === model);
    return {
      namespace,
      name,
      ready: `${deployment.status?.readyReplicas ?? 0}/${deployment.spec?.replicas ?? 0}`,
      image: deployment.spec?.template.spec?.containers[0]?.image,
      url: urlFor(service, mappedNodePorts, nodeIp),
      liveAhead: liveAhead(deployment),
    };
  });
}

function urlFor(service: V1Service | undefined, mappedNodePorts: number[], nodeIp: string | undefined): string | undefined {
  const nodePort = service?.spec?.ports?.find((port) => port.nodePort)?.nodePort;
  if (!nodePort) return undefined;
  if (mappedNodePorts.includes(nodePort)) return `http://127.0.0.1:${nodePort}`;
  if (nodeIp) return `http://${nodeIp}:${nodePort}`;
  return `(NodePort ${nodePort} is not reachable from this machine; 'mlkube dev' forwards a port)`;
}
