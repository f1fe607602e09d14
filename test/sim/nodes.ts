/**
 * Node containers on the host engine, laid out as kind and minikube lay theirs out: one container per
 * node on a user-defined bridge network, hostname = container name, the tool's labels, the cluster
 * config's port mappings published exactly as given, and a Docker engine inside. Instead of
 * `--privileged` (refused on these machines: no CAP_SYS_RESOURCE) the node gets an explicit capability set.
 *
 * Each node gets its own pod subnet 10.244.N.0/24 (the inner engine's bridge) and a host route to it
 * through the node, so the host-side kubelet logic can probe pod IPs, as the real kubelet does from
 * the node.
 */
import { execFile } from "node:child_process";
import { access, readFile, readdir, rmdir } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { containerIP, execIn, hostDocker, isNotFound, sleep } from "./docker.js";
import { NODE_IMAGE } from "./images.js";
import { issueEngineServerCert, enginePkiDir } from "./node/engine.js";
import { clusterDir, record, ROUTE_PROTO, SIM_LABEL, simHome, type NodeRecord } from "./state.js";

const run = promisify(execFile);

/** What a Docker engine inside a container needs on these machines, in place of --privileged (README, "Every way"). */
const NODE_CAPABILITIES = [
  "SYS_ADMIN",
  "NET_ADMIN",
  "NET_RAW",
  "MKNOD",
  "SYS_PTRACE",
  "SYS_MODULE",
  "SETFCAP",
  "SYS_CHROOT",
  "DAC_READ_SEARCH",
  "IPC_LOCK",
  "NET_BIND_SERVICE",
  "SYS_NICE",
];

export interface PortMapping {
  containerPort: number;
  /** 0 lets Docker pick a free port. */
  hostPort: number;
  listenAddress: string;
  protocol: "TCP" | "UDP" | "SCTP";
}

export interface NodeSpec {
  clusterKey: string;
  container: string;
  role: NodeRecord["role"];
  network: string;
  labels: Record<string, string>;
  ports: PortMapping[];
  mounts: { hostPath: string; containerPath: string; readOnly: boolean }[];
  /** Named volume for the inner engine's data (minikube names it after the profile); anonymous if unset. */
  volume?: string;
  /** Static address on the network (minikube picks .2 of its subnet). */
  ip?: string;
  insecureRegistries?: string[];
}

export async function ensureNetwork(name: string, options: { subnet?: string; gateway?: string; labels?: Record<string, string> } = {}): Promise<boolean> {
  try {
    await hostDocker.getNetwork(name).inspect();
    return false;
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
  try {
    await createNetwork(name, options);
  } catch (error) {
    // Another stand-in created it between our look and our create (two clusters at once).
    if ((error as { statusCode?: number }).statusCode === 409) return false;
    throw error;
  }
  await record({ type: "network", name });
  return true;
}

async function createNetwork(name: string, options: { subnet?: string; gateway?: string; labels?: Record<string, string> }): Promise<void> {
  await hostDocker.createNetwork({
    Name: name,
    Driver: "bridge",
    CheckDuplicate: true,
    // kind's options for its network (MTU and masquerading), minus IPv6, which this machine lacks.
    Options: { "com.docker.network.bridge.enable_ip_masquerade": "true", "com.docker.network.driver.mtu": "1500" },
    IPAM: options.subnet ? { Driver: "default", Config: [{ Subnet: options.subnet, Gateway: options.gateway }] } : undefined,
    Labels: { ...options.labels, [SIM_LABEL]: simHome() },
  });
}

export async function createNode(spec: NodeSpec): Promise<NodeRecord> {
  const exposed: Record<string, object> = {};
  const bindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
  for (const port of spec.ports) {
    const key = `${port.containerPort}/${port.protocol.toLowerCase()}`;
    exposed[key] = {};
    (bindings[key] ??= []).push({ HostIp: port.listenAddress, HostPort: port.hostPort > 0 ? String(port.hostPort) : "" });
  }
  const hasModules = await access("/lib/modules").then(
    () => true,
    () => false,
  );
  await record({ type: "container", name: spec.container });
  const container = await hostDocker.createContainer({
    name: spec.container,
    Hostname: spec.container,
    Image: NODE_IMAGE,
    Tty: true,
    Env: ["container=docker"],
    Labels: { ...spec.labels, [SIM_LABEL]: simHome() },
    ExposedPorts: exposed,
    Volumes: spec.volume ? undefined : { "/var/lib/docker": {} },
    HostConfig: {
      CapAdd: NODE_CAPABILITIES,
      SecurityOpt: ["seccomp=unconfined", "apparmor=unconfined"],
      CgroupnsMode: "host",
      Binds: [
        "/sys/fs/cgroup:/sys/fs/cgroup:rw",
        ...(hasModules ? ["/lib/modules:/lib/modules:ro"] : []),
        ...(spec.volume ? [`${spec.volume}:/var/lib/docker`] : []),
        ...spec.mounts.map((mount) => `${mount.hostPath}:${mount.containerPath}${mount.readOnly ? ":ro" : ""}`),
      ],
      Tmpfs: { "/tmp": "", "/run": "" },
      PortBindings: bindings,
      RestartPolicy: { Name: "on-failure", MaximumRetryCount: 1 },
      NetworkMode: spec.network,
    } as Record<string, unknown>,
    NetworkingConfig: {
      EndpointsConfig: { [spec.network]: spec.ip ? { IPAMConfig: { IPv4Address: spec.ip } } : {} },
    },
  });
  await container.start();
  const ip = await containerIP(hostDocker, spec.container, spec.network);
  if (!ip) throw new Error(`node ${spec.container} got no address on network ${spec.network}`);

  const podCIDR = await addPodRoute(ip);
  try {
    await configureNode(spec, ip, podCIDR);
  } catch (error) {
    await removeRoute(podCIDR);
    throw error;
  }
  return { container: spec.container, role: spec.role, ip, podCIDR };
}

/** Hands the node its engine certificates and settings; its entrypoint then starts the engine. */
async function configureNode(spec: NodeSpec, ip: string, podCIDR: string): Promise<void> {
  const certDir = join(clusterDir(spec.clusterKey), "nodes", spec.container);
  await issueEngineServerCert(certDir, spec.container, ip);
  await record({ type: "cgroup", path: `mlkube-sim/${spec.container}` });
  const env = [`POD_BRIDGE_CIDR=${podCIDR.replace(/\.0\/24$/, ".1/24")}`, `CGROUP_PARENT=/mlkube-sim/${spec.container}`, ""].join("\n");
  const files = [
    await readFile(join(enginePkiDir(), "ca.pem"), "utf8"),
    await readFile(join(certDir, "server-cert.pem"), "utf8"),
    await readFile(join(certDir, "server-key.pem"), "utf8"),
    JSON.stringify({ "insecure-registries": spec.insecureRegistries ?? [] }),
    env,
  ];
  // node.env last: the entrypoint starts the engine as soon as it appears.
  const script = [
    "set -e",
    "d=/etc/mlkube-sim/engine",
    'mkdir -p "$d" /etc/docker',
    'printf "%s" "$1" > "$d/ca.pem"',
    'printf "%s" "$2" > "$d/server-cert.pem"',
    'printf "%s" "$3" > "$d/server-key.pem"',
    'chmod 600 "$d/server-key.pem"',
    'printf "%s" "$4" > /etc/docker/daemon.json',
    'printf "%s" "$5" > /etc/mlkube-sim/node.env.tmp',
    "mv /etc/mlkube-sim/node.env.tmp /etc/mlkube-sim/node.env",
  ].join("\n");
  const written = await execIn(hostDocker, spec.container, ["sh", "-c", script, "sh", ...files]);
  if (written.exitCode !== 0) throw new Error(`could not configure node ${spec.container}: ${written.stderr}`);
  await waitForNodeReady(spec.container);
}

async function waitForNodeReady(container: string, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const result = await execIn(hostDocker, container, ["test", "-f", "/run/mlkube-sim/ready"]).catch(() => undefined);
    if (result?.exitCode === 0) return;
    const state = (await hostDocker.getContainer(container).inspect()).State;
    if (!state.Running) break;
    await sleep(200);
  }
  const logs = await execIn(hostDocker, container, ["tail", "-20", "/var/log/dockerd.log"]).catch(() => undefined);
  throw new Error(`node ${container} did not become ready (its container runtime did not start)${logs ? `:\n${logs.stdout}` : ""}`);
}

/** Claims the first free 10.244.N.0/24: `ip route add` fails when the route exists, so two creators never share one. */
async function addPodRoute(nodeIP: string): Promise<string> {
  for (let n = 0; n < 256; n += 1) {
    const cidr = `10.244.${n}.0/24`;
    try {
      await run("ip", ["route", "add", cidr, "via", nodeIP, "proto", ROUTE_PROTO]);
      await record({ type: "route", cidr });
      return cidr;
    } catch (error) {
      if (!/File exists/.test((error as { stderr?: string }).stderr ?? "")) {
        throw new Error(`could not add a route to the pod subnet ${cidr} via ${nodeIP}: ${(error as { stderr?: string }).stderr ?? error}`);
      }
    }
  }
  throw new Error("all 256 pod subnets 10.244.N.0/24 are taken");
}

export async function removeRoute(cidr: string): Promise<void> {
  await run("ip", ["route", "del", cidr, "proto", ROUTE_PROTO]).catch(() => undefined);
}

/**
 * Removes a node: its container (with the inner engine's volume), its pod route and the cgroups its
 * engine made (with cgroupns=host they live in the host's hierarchy and outlive the container).
 */
export async function removeNode(node: { container: string; podCIDR?: string }): Promise<void> {
  await hostDocker
    .getContainer(node.container)
    .remove({ force: true, v: true })
    .catch((error: unknown) => {
      if (!isNotFound(error)) throw error;
    });
  if (node.podCIDR) await removeRoute(node.podCIDR);
  await removeCgroups(`mlkube-sim/${node.container}`);
}

export async function removeCgroups(relative: string): Promise<void> {
  const roots = ["/sys/fs/cgroup", ...(await readdir("/sys/fs/cgroup").catch(() => [] as string[])).map((name) => join("/sys/fs/cgroup", name))];
  for (const root of roots) {
    for (let attempt = 0; attempt < 20; attempt += 1) {
      const ok = await removeTree(join(root, relative));
      if (ok) break;
      await sleep(100); // the killed processes leave their cgroups a moment later
    }
    await rmdir(join(root, relative.split("/")[0] as string)).catch(() => undefined);
  }
}

/** rmdir depth-first (cgroup directories can only be removed empty); true when gone. */
async function removeTree(dir: string): Promise<boolean> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return true;
  }
  for (const entry of entries) if (entry.isDirectory()) await removeTree(join(dir, entry.name));
  return rmdir(dir).then(
    () => true,
    () => false,
  );
}
