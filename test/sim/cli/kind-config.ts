/**
 * kind's cluster configuration (kind.x-k8s.io/v1alpha4), the parts the simulator honours, with
 * kind's defaults: one control-plane node, listenAddress 0.0.0.0, protocol TCP, hostPort 0 = random.
 */
import { parse } from "yaml";
import type { PortMapping } from "../nodes.js";

export interface KindNodeConfig {
  role: "control-plane" | "worker";
  extraPortMappings: PortMapping[];
  extraMounts: { hostPath: string; containerPath: string; readOnly: boolean }[];
}

export interface KindConfig {
  name?: string;
  nodes: KindNodeConfig[];
  apiServerPort: number;
  /** TOML merge patches for each node's /etc/containerd/config.toml (node/containerd-config.ts). */
  containerdConfigPatches: string[];
}

interface RawPortMapping {
  containerPort?: number;
  hostPort?: number;
  listenAddress?: string;
  protocol?: string;
}
interface RawNode {
  role?: string;
  extraPortMappings?: RawPortMapping[];
  extraMounts?: { hostPath?: string; containerPath?: string; readOnly?: boolean }[];
}
interface RawConfig {
  kind?: string;
  apiVersion?: string;
  name?: string;
  nodes?: RawNode[];
  networking?: { apiServerPort?: number; apiServerAddress?: string };
  containerdConfigPatches?: unknown;
}

export function parseKindConfig(text: string | undefined): KindConfig {
  const raw = ((text ? parse(text) : undefined) ?? { kind: "Cluster", apiVersion: "kind.x-k8s.io/v1alpha4" }) as RawConfig;
  if (raw.kind !== "Cluster") throw new Error(`unknown kind: ${raw.kind ?? ""}`);
  if (raw.apiVersion !== "kind.x-k8s.io/v1alpha4") throw new Error(`unknown apiVersion: ${raw.apiVersion ?? ""}`);
  const nodes = (raw.nodes ?? [{ role: "control-plane" }]).map(parseNode);
  if (!nodes.some((node) => node.role === "control-plane")) throw new Error("invalid configuration: must have at least one control-plane node");
  if (nodes.filter((node) => node.role === "control-plane").length > 1) {
    throw new Error("invalid configuration: the simulator supports one control-plane node (kind would add an external load balancer)");
  }
  const address = raw.networking?.apiServerAddress;
  if (address && address !== "127.0.0.1") throw new Error(`invalid configuration: the simulator's API server listens on 127.0.0.1 only, not ${address}`);
  const patches = raw.containerdConfigPatches ?? [];
  if (!Array.isArray(patches) || !patches.every((patch) => typeof patch === "string"))
    throw new Error("invalid configuration: containerdConfigPatches must be a list of strings");
  return { name: raw.name, nodes, apiServerPort: raw.networking?.apiServerPort ?? 0, containerdConfigPatches: patches };
}

function parseNode(raw: RawNode, index: number): KindNodeConfig {
  const role = raw.role ?? "control-plane";
  if (role !== "control-plane" && role !== "worker") throw new Error(`invalid configuration: node ${index}: unknown role "${role}"`);
  const seen = new Set<string>();
  const extraPortMappings = (raw.extraPortMappings ?? []).map((mapping): PortMapping => {
    const protocol = (mapping.protocol ?? "TCP").toUpperCase();
    if (protocol !== "TCP" && protocol !== "UDP" && protocol !== "SCTP") throw new Error(`invalid configuration: unknown protocol "${mapping.protocol}"`);
    const containerPort = Number(mapping.containerPort);
    if (!Number.isInteger(containerPort) || containerPort < 1 || containerPort > 65535) {
      throw new Error(`invalid configuration: invalid containerPort ${String(mapping.containerPort)}`);
    }
    const hostPort = mapping.hostPort === undefined || mapping.hostPort === -1 ? 0 : Number(mapping.hostPort);
    const listenAddress = mapping.listenAddress ?? "0.0.0.0";
    const key = `${listenAddress}:${hostPort}/${protocol}`;
    if (hostPort !== 0 && seen.has(key))
      throw new Error(`invalid configuration: port mapping with same listen address, port and protocol already configured: ${key}`);
    seen.add(key);
    return { containerPort, hostPort, listenAddress, protocol };
  });
  const extraMounts = (raw.extraMounts ?? []).map((mount) => {
    if (!mount.hostPath || !mount.containerPath) throw new Error("invalid configuration: extraMounts need hostPath and containerPath");
    return { hostPath: mount.hostPath, containerPath: mount.containerPath, readOnly: mount.readOnly ?? false };
  });
  return { role, extraPortMappings, extraMounts };
}

/** kind's node names: NAME-control-plane, NAME-worker, NAME-worker2, ... */
export function kindNodeNames(cluster: string, nodes: KindNodeConfig[]): string[] {
  let workers = 0;
  return nodes.map((node) => {
    if (node.role === "control-plane") return `${cluster}-control-plane`;
    workers += 1;
    return `${cluster}-worker${workers > 1 ? workers : ""}`;
  });
}
