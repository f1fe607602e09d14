import type Dockerode from "dockerode";
import { UserError } from "../../errors.js";
import { describePortHolder, findPortHolder, portIsFree } from "./port-holder.js";

/** The label kind puts on every node container: its cluster's name. */
export const KIND_CLUSTER_LABEL = "io.x-k8s.kind.cluster";

/** What holds a host port a new kind cluster wants to map. */
interface TakenNodePort {
  port: number;
  /** "kind cluster 'other' (container other-control-plane)", "container web", "python3 (pid 7)". */
  holder: string;
  /** The other kind cluster, when that is the holder: the user may mean to share it. */
  kindCluster?: string | undefined;
}

/**
 * The ports among PORTS that 127.0.0.1 cannot give a new kind node. Docker refuses a second
 * container publishing a host port it already allocated ("port is already allocated", even with
 * the userland proxy off), so containers are asked first; then a trial listen finds other programs.
 */
export async function takenNodePorts(docker: Dockerode, ports: number[]): Promise<TakenNodePort[]> {
  const containers = await docker.listContainers();
  const taken: TakenNodePort[] = [];
  for (const port of ports) {
    const container = containers.find((info) => info.Ports.some((binding) => binding.PublicPort === port));
    if (container) {
      const name = container.Names[0]?.replace(/^\//, "") ?? container.Id.slice(0, 12);
      const kindCluster = container.Labels?.[KIND_CLUSTER_LABEL];
      taken.push({ port, holder: kindCluster ? `kind cluster '${kindCluster}' (container ${name})` : `container ${name}`, kindCluster });
    } else if (!(await portIsFree("127.0.0.1", port))) {
      taken.push({ port, holder: describePortHolder(port, await findPortHolder(port)) });
    }
  }
  return taken;
}

/**
 * A range of COUNT ports that nothing holds now, to offer in the error: blocks from 30100 up, a
 * hundred apart, the first that is wholly free (undefined when none of the first 20 is).
 */
export async function freeNodePortRange(docker: Dockerode, count: number): Promise<string | undefined> {
  for (let first = 30100; first + count - 1 <= 32767 && first < 32100; first += 100) {
    const ports = Array.from({ length: count }, (_, index) => first + index);
    if ((await takenNodePorts(docker, ports)).length === 0) return `${first}-${first + count - 1}`;
  }
  return undefined;
}

/** The error for a kind cluster that cannot be created because its NodePorts are taken; FREE_RANGE is offered as the way round. */
export function nodePortsTakenError(clusterName: string, taken: TakenNodePort[], freeRange?: string): UserError {
  const byHolder = new Map<string, number[]>();
  for (const entry of taken) byHolder.set(entry.holder, [...(byHolder.get(entry.holder) ?? []), entry.port]);
  const held = [...byHolder].map(([holder, ports]) => `127.0.0.1:${ports.join(", ")} ${ports.length === 1 ? "is" : "are"} held by ${holder}`).join("; ");
  const otherCluster = taken.find((entry) => entry.kindCluster)?.kindCluster;
  const ways = [
    ...(otherCluster
      ? [
          `share the cluster that holds them (cluster.name: ${otherCluster} in mlkube.yaml)`,
          `delete it ('kind delete cluster --name ${otherCluster}', or 'mlkube down' in the model directory that made it)`,
        ]
      : ["stop what holds them"]),
    ...(freeRange
      ? [`give this cluster other ports (cluster.nodePorts: ${freeRange} in mlkube.yaml; ${freeRange} are free now)`]
      : ["give this cluster other ports (cluster.nodePorts: FIRST-LAST in mlkube.yaml)"]),
    "or use a cluster that exists (cluster.provider: context)",
  ];
  return new UserError("cluster", `kind cluster '${clusterName}' cannot be created: it maps its NodePorts to the same ports on 127.0.0.1, and ${held}.`, {
    hint: `${ways.join(", ").replace(/^./, (first) => first.toUpperCase())}.`,
  });
}
