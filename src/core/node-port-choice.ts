/**
 * Which NodePort a model's Service gets, so several models can share one cluster (issue #16).
 * A port written in mlkube.yaml is used as written. Otherwise the model keeps the port it had last
 * time (remembered per model directory), or the one its Service already has, or takes the first
 * port the cluster maps that no Service holds, preferring ports other model directories do not
 * remember. Pure: the caller lists the cluster's Services and reads the remembered ports.
 */

/** A NodePort some Service on the cluster holds. */
export interface NodePortClaim {
  port: number;
  namespace: string;
  service: string;
  /** The mlkube model the Service belongs to (its mlkube.dev/model label), if any. */
  model?: string | undefined;
}

interface NodePortInput {
  /** The model's Service, whose own claim never counts as taken. */
  model: { namespace: string; name: string };
  /** service.nodePort as written in mlkube.yaml, if it is. */
  configured?: number | undefined;
  /** The port this model directory had last time. */
  remembered?: number | undefined;
  /** Ports other model directories remember: taken only when nothing else is free. */
  rememberedByOthers: readonly number[];
  /** NodePorts the cluster maps to this machine (kind); empty when any NodePort is reachable. */
  mapped: readonly number[];
  claims: readonly NodePortClaim[];
}

export interface NodePortChoice {
  port: number;
  /** Why this port, for the user: "30081: the first free port the cluster maps (30080: Service default/iris)". */
  reason: string;
}

/** The NodePorts mlkube hands out on a cluster that maps none (minikube, an existing context). */
const DEFAULT_NODE_PORTS = [30080, 30081, 30082, 30083, 30084];
const NODE_PORT_MAX = 32767;

export function chooseNodePort(input: NodePortInput): NodePortChoice {
  if (input.configured !== undefined) return { port: input.configured, reason: "service.nodePort in mlkube.yaml" };
  const others = input.claims.filter((claim) => !isOwn(claim, input.model));
  const holder = (port: number) => others.find((claim) => claim.port === port);
  const free = (port: number) => holder(port) === undefined;
  const candidates = input.mapped.length > 0 ? [...input.mapped].sort((a, b) => a - b) : DEFAULT_NODE_PORTS;
  const reachable = input.mapped.length > 0 ? "port the cluster maps to 127.0.0.1" : `port of mlkube's usual NodePorts (${DEFAULT_NODE_PORTS.join(", ")})`;

  const remembered = input.remembered;
  if (remembered !== undefined && free(remembered) && (input.mapped.length === 0 || input.mapped.includes(remembered))) {
    return { port: remembered, reason: "this model's port in earlier sessions" };
  }
  const lost = remembered !== undefined && !free(remembered) ? `; its earlier port ${remembered} is now held by ${describeClaim(holder(remembered))}` : "";
  const current = input.claims.find((claim) => isOwn(claim, input.model) && candidates.includes(claim.port));
  if (current) return { port: current.port, reason: `the port the model's Service already has${lost}` };

  const taken = candidates.filter((port) => !free(port));
  const takenNote = taken.length > 0 ? ` (${taken.map((port) => `${port}: ${describeClaim(holder(port))}`).join(", ")})` : "";
  const unclaimed = candidates.filter(free);
  const fresh = unclaimed.find((port) => !input.rememberedByOthers.includes(port)) ?? unclaimed[0];
  if (fresh !== undefined) return { port: fresh, reason: `the first free ${reachable}${takenNote}${lost}` };

  // Every mapped port is held: a port beyond them still works, through a port-forward.
  const highest = candidates.at(-1) ?? DEFAULT_NODE_PORTS[0] ?? 30080;
  for (let port = highest + 1; port <= NODE_PORT_MAX; port += 1) {
    if (free(port)) return { port, reason: `every ${reachable} is held${takenNote}; this port is reached through a port-forward` };
  }
  throw new Error("no free NodePort in 30000-32767"); // 2768 Services with NodePorts on a dev cluster: not a case to word
}

/** A planned Service's NodePort that another Service already holds: the API server would refuse the apply. */
interface NodePortConflict {
  port: number;
  /** The planned Service, "default/iris". */
  planned: string;
  holder: NodePortClaim;
}

export function nodePortConflicts(planned: readonly NodePortClaim[], claims: readonly NodePortClaim[]): NodePortConflict[] {
  return planned.flatMap((want) => {
    const holder = claims.find((claim) => claim.port === want.port && !(claim.namespace === want.namespace && claim.service === want.service));
    return holder ? [{ port: want.port, planned: `${want.namespace}/${want.service}`, holder }] : [];
  });
}

/** The ports among CANDIDATES that no Service holds, to suggest in a conflict's hint. */
export function freeNodePorts(claims: readonly NodePortClaim[], mapped: readonly number[]): number[] {
  const candidates = mapped.length > 0 ? [...mapped].sort((a, b) => a - b) : DEFAULT_NODE_PORTS;
  return candidates.filter((port) => !claims.some((claim) => claim.port === port));
}

export function describeClaim(claim: NodePortClaim | undefined): string {
  if (!claim) return "nothing";
  return `Service ${claim.namespace}/${claim.service}${claim.model ? ` (mlkube model ${claim.model})` : ""}`;
}

function isOwn(claim: NodePortClaim, model: { namespace: string; name: string }): boolean {
  return claim.namespace === model.namespace && (claim.service === model.name || claim.model === model.name);
}
