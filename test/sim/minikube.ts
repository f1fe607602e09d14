/**
 * Stand-in for the `minikube` executable with the docker driver (test/sim/bin/minikube runs this).
 * Subcommands, flags, messages, streams and exit codes follow minikube v1.35 (cmd/minikube/cmd/...):
 * progress on stdout, `❌  Exiting due to ID: ...` on stderr with minikube's exit codes
 * (reason/exitcodes.go). See README.md for what differs.
 */
import { spawn } from "node:child_process";
import { mkdir, readFile, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { apiGet, destroyCluster, provisionNodes, startClusterDaemon } from "./cluster.js";
import { parseArgs, UsageError, type FlagSpecs, type FlagValues } from "./cli/args.js";
import {
  clusterConfig,
  ensureDockerEnvCerts,
  KUBERNETES_VERSION,
  miniPath,
  MINIKUBE_COMMIT,
  MINIKUBE_VERSION,
  profileDir,
  profileExists,
  profilePki,
  writeProfilePki,
} from "./cli/minikube-profile.js";
import { parsePublish, setScript, table, unsetScript } from "./cli/minikube-format.js";
import { daemonHostIp, forwardedPort, freePort, needsPortForward } from "./cli/minikube-reach.js";
import { errorMessage } from "./cli/output.js";
import { isOurDaemon } from "./daemon-control.js";
import { hostDocker, isNotFound } from "./docker.js";
import { ensureNodeImage } from "./images.js";
import { ensureNetwork } from "./nodes.js";
import { kubeconfigPathFor, readKubeconfig, writeKubeconfigEntry, type KubeconfigEntry } from "./kubeconfig.js";
import { hostImageId, loadImage, nodeImageId } from "./node/load-image.js";
import { ENGINE_PORT, nodeEngine } from "./node/engine.js";
import type { PortMapping } from "./nodes.js";
import { loadCluster, loadDaemonInfo, record, SIM_LABEL, simHome, writeJson, type ClusterRecord } from "./state.js";

/** minikube's exit codes (pkg/minikube/reason/exitcodes.go). */
const EX = { usage: 14, driverUnsupported: 56, guestError: 80, guestConflict: 81, guestNotRunning: 83, guestNotFound: 85, svcNotFound: 115 };

class MinikubeExit extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly id?: string,
    readonly stdout = false,
  ) {
    super(message);
  }
}

const GLOBAL: FlagSpecs = {
  profile: { type: "string", short: "p" },
  alsologtostderr: { type: "bool" },
  logtostderr: { type: "bool" },
  v: { type: "string", short: "v" },
  user: { type: "string" },
  "skip-audit": { type: "bool" },
  rootless: { type: "bool" },
  log_dir: { type: "string" },
  log_file: { type: "string" },
  help: { type: "bool", short: "h" },
};
const out = (line: string): void => void process.stdout.write(`${line}\n`);
const keyFor = (profile: string): string => `minikube-${profile}`;
const profileOf = (flags: FlagValues): string => (flags.profile as string | undefined) || process.env.MINIKUBE_PROFILE || "minikube";
const startHint = (profile: string): string => (profile === "minikube" ? "minikube start" : `minikube start -p ${profile}`);

function notFound(profile: string): MinikubeExit {
  return new MinikubeExit(
    EX.guestNotFound,
    `🤷  Profile "${profile}" not found. Run "minikube profile list" to view all profiles.\n👉  To start a cluster, run: "${startHint(profile)}"`,
    undefined,
    true,
  );
}

interface ProfileState {
  cluster: ClusterRecord;
  host: "Running" | "Stopped" | "Nonexistent";
  kubelet: "Running" | "Stopped";
  url?: string;
}

async function profileState(profile: string): Promise<ProfileState | undefined> {
  const cluster = await loadCluster(keyFor(profile));
  if (!cluster || !(await profileExists(profile))) return undefined;
  let host: ProfileState["host"] = "Nonexistent";
  try {
    host = (await hostDocker.getContainer(profile).inspect()).State.Running ? "Running" : "Stopped";
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
  const daemon = await loadDaemonInfo(keyFor(profile));
  const alive = daemon !== undefined && isOurDaemon(daemon.pid);
  return { cluster, host, kubelet: alive && host === "Running" ? "Running" : "Stopped", url: alive ? daemon.url : undefined };
}

async function mustBeRunning(profile: string): Promise<Required<ProfileState>> {
  const state = await profileState(profile);
  if (!state) throw notFound(profile);
  if (state.host !== "Running" || !state.url) {
    throw new MinikubeExit(
      EX.guestNotRunning,
      `🤷  The control-plane node ${profile} host is not running: state=${state.host === "Running" ? "Stopped" : state.host}\n👉  To start a cluster, run: "${startHint(profile)}"`,
      undefined,
      true,
    );
  }
  return state as Required<ProfileState>;
}

/**
 * The profile's network, as minikube makes it: named after the profile, on the first free subnet of
 * 192.168.49.0/24, 192.168.58.0/24, ... (steps of 9); an existing one is reused. Returns the third octet.
 */
async function ensureProfileNetwork(profile: string): Promise<number> {
  try {
    const subnet = (await hostDocker.getNetwork(profile).inspect()).IPAM?.Config?.[0]?.Subnet ?? "";
    const octet = /^192\.168\.(\d+)\.0\/24$/.exec(subnet)?.[1];
    if (octet) return Number(octet);
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
  const taken = new Set<string>();
  for (const network of await hostDocker.listNetworks()) for (const config of network.IPAM?.Config ?? []) if (config.Subnet) taken.add(config.Subnet);
  for (let octet = 49; octet < 255; octet += 9) {
    if (taken.has(`192.168.${octet}.0/24`)) continue;
    try {
      await ensureNetwork(profile, {
        subnet: `192.168.${octet}.0/24`,
        gateway: `192.168.${octet}.1`,
        labels: { "created_by.minikube.sigs.k8s.io": "true", "name.minikube.sigs.k8s.io": profile },
      });
      return octet;
    } catch (error) {
      // Another network (perhaps created a moment ago) or a host route holds this subnet: next.
      if (!/overlap/i.test(errorMessage(error))) throw error;
    }
  }
  throw new MinikubeExit(EX.guestError, "no free 192.168.x.0/24 subnet for the profile's network", "GUEST_PROVISION");
}

async function start(argv: string[]): Promise<void> {
  const { flags } = parseArgs(argv, {
    ...GLOBAL,
    driver: { type: "string", short: "d" },
    "vm-driver": { type: "string" },
    "container-runtime": { type: "string" },
    ports: { type: "strings" },
    "kubernetes-version": { type: "string" },
    memory: { type: "string" },
    cpus: { type: "string" },
    "insecure-registry": { type: "strings" },
    "registry-mirror": { type: "strings" },
    addons: { type: "strings" },
    wait: { type: "strings" },
    "wait-timeout": { type: "string" },
    "embed-certs": { type: "bool" },
    nodes: { type: "string", short: "n" },
    "listen-address": { type: "string" },
    force: { type: "bool" },
    "delete-on-failure": { type: "bool" },
    "install-addons": { type: "bool" },
    "keep-context": { type: "bool" },
    interactive: { type: "bool" },
    "base-image": { type: "string" },
    "extra-config": { type: "strings" },
    "feature-gates": { type: "string" },
    cni: { type: "string" },
    preload: { type: "bool" },
    "image-repository": { type: "string" },
    "disk-size": { type: "string" },
    "static-ip": { type: "string" },
    subnet: { type: "string" },
    network: { type: "string" },
    "apiserver-port": { type: "string" },
    "dry-run": { type: "bool" },
    "no-kubernetes": { type: "bool" },
  });
  const profile = profileOf(flags);
  const driver = (flags.driver ?? flags["vm-driver"] ?? "docker") as string;
  if (driver !== "docker")
    throw new MinikubeExit(EX.driverUnsupported, `The driver '${driver}' is not supported by the simulator (docker only)`, "DRV_UNSUPPORTED_OS");
  if (Number(flags.nodes ?? 1) > 1) throw new MinikubeExit(EX.usage, "the simulator runs single-node minikube profiles only", "MK_USAGE");
  const runtime = (flags["container-runtime"] as string | undefined) ?? "docker";
  const memory = Number(String(flags.memory ?? "3900").replace(/mb?$/i, "")) || 3900;
  const cpus = Number(flags.cpus ?? 2) || 2;
  out(`😄  [${profile}] minikube ${MINIKUBE_VERSION} on Debian (amd64)`);
  out("✨  Using the docker driver based on user configuration");
  out("📌  Using Docker driver with root privileges");
  out(`👍  Starting "${profile}" primary control-plane node in "${profile}" cluster`);

  const existing = await profileState(profile);
  if (existing?.host === "Running") {
    out(`🏃  Updating the running docker "${profile}" container ...`);
    // A node whose control plane process is gone gets a new one (with an empty API: see README).
    const url = existing.url ?? (await startClusterDaemon(existing.cluster)).url;
    if (!flags["keep-context"]) await writeProfileKubeconfig(existing.cluster, url);
    return done(profile);
  }
  if (existing) await destroyCluster(keyFor(profile), `name.minikube.sigs.k8s.io=${profile}`, profile);

  out("🚜  Pulling base image v0.0.46 ...");
  await ensureNodeImage();
  out(`🔥  Creating docker container (CPUs=${cpus}, Memory=${memory}MB) ...`);
  const volume = profile;
  await hostDocker.createVolume({
    Name: volume,
    Labels: { "created_by.minikube.sigs.k8s.io": "true", "name.minikube.sigs.k8s.io": profile, [SIM_LABEL]: simHome() },
  });
  await record({ type: "volume", name: volume });
  const userPorts = (flags.ports as string[] | undefined) ?? [];
  // minikube publishes ssh, the engine, the registry addon, the API server and the ingress port on random 127.0.0.1 ports.
  const kicPorts = [22, ENGINE_PORT, 5000, 8443, 32443].map((port): PortMapping => ({
    containerPort: port,
    hostPort: 0,
    listenAddress: "127.0.0.1",
    protocol: "TCP",
  }));
  const kubeconfigPath = await kubeconfigPathFor(profile);
  let cluster: ClusterRecord;
  try {
    const octet = await ensureProfileNetwork(profile);
    cluster = await provisionNodes({
      key: keyFor(profile),
      tool: "minikube",
      name: profile,
      network: profile,
      containerRuntime: runtime,
      pullMode: runtime === "docker" ? "dockerd" : "containerd-hosts",
      kubeconfigPath,
      apiServerPort: 0,
      pki: profilePki(profile),
      nodeSpecs: [
        {
          container: profile,
          role: "control-plane",
          ip: `192.168.${octet}.2`,
          volume,
          labels: {
            "created_by.minikube.sigs.k8s.io": "true",
            "name.minikube.sigs.k8s.io": profile,
            "role.minikube.sigs.k8s.io": "",
            "mode.minikube.sigs.k8s.io": profile,
          },
          ports: [...kicPorts, ...userPorts.map(parsePublish)],
          mounts: [],
          // minikube always trusts the service CIDR's registries, plus --insecure-registry.
          insecureRegistries: ["10.96.0.0/12", ...((flags["insecure-registry"] as string[] | undefined) ?? [])],
        },
      ],
    });
    const node = cluster.nodes[0] as ClusterRecord["nodes"][number];
    out(`🐳  Preparing Kubernetes ${KUBERNETES_VERSION} on Docker 20.10.24 ...`);
    out("    ▪ Generating certificates and keys ...");
    await mkdir(profileDir(profile), { recursive: true });
    await writeProfilePki(profile, node.ip);
    await ensureDockerEnvCerts();
    await writeJson(join(profileDir(profile), "config.json"), clusterConfig(profile, { ip: node.ip, runtime, memory, cpus, ports: userPorts }));
    out("    ▪ Booting up control plane ...");
    const daemon = await startClusterDaemon(cluster);
    out("    ▪ Configuring RBAC rules ...");
    out("🔗  Configuring bridge CNI (Container Networking Interface) ...");
    out("🔎  Verifying Kubernetes components...");
    if (!flags["keep-context"]) await writeProfileKubeconfig(cluster, daemon.url);
  } catch (error) {
    await destroyCluster(keyFor(profile), `name.minikube.sigs.k8s.io=${profile}`, profile).catch(() => undefined);
    await removeProfileLeftovers(profile);
    throw new MinikubeExit(
      EX.guestError,
      `Failed to start docker container. Running "minikube delete -p ${profile}" may fix it: ${errorMessage(error)}`,
      "GUEST_PROVISION",
    );
  }
  out("🌟  Enabled addons: storage-provisioner, default-storageclass");
  done(profile);
}

function done(profile: string): void {
  out(`🏄  Done! kubectl is now configured to use "${profile}" cluster and "default" namespace by default`);
}

async function writeProfileKubeconfig(cluster: ClusterRecord, server: string): Promise<void> {
  const extension = [
    { extension: { "last-update": new Date().toUTCString(), provider: "minikube.sigs.k8s.io", version: MINIKUBE_VERSION }, name: "cluster_info" },
  ];
  const entry: KubeconfigEntry = {
    name: cluster.name,
    cluster: { "certificate-authority": cluster.pki.ca, extensions: extension, server },
    context: { cluster: cluster.name, extensions: extension, namespace: "default", user: cluster.name },
    user: { "client-certificate": cluster.pki.clientCert, "client-key": cluster.pki.clientKey },
  };
  await writeKubeconfigEntry(cluster.kubeconfigPath, entry, true);
  await record({ type: "kubeconfig", path: cluster.kubeconfigPath, name: cluster.name });
}

/** What `minikube delete` removes beyond the node: the network, the volume, the profile's files. */
async function removeProfileLeftovers(profile: string): Promise<void> {
  await hostDocker
    .getVolume(profile)
    .remove()
    .catch(() => undefined);
  try {
    const network = hostDocker.getNetwork(profile);
    if ((await network.inspect()).Labels?.["name.minikube.sigs.k8s.io"] === profile) await network.remove();
  } catch {
    // already gone
  }
  await rm(profileDir(profile), { recursive: true, force: true });
  await rm(join(miniPath(), "machines", profile), { recursive: true, force: true });
}

async function deleteProfile(argv: string[]): Promise<void> {
  const { flags } = parseArgs(argv, { ...GLOBAL, all: { type: "bool" }, purge: { type: "bool" } });
  const profiles = flags.all ? await listProfiles() : [profileOf(flags)];
  for (const profile of profiles) {
    if (!(await profileState(profile))) {
      out(`🙄  "${profile}" profile does not exist, trying anyways.`);
    } else {
      out(`🔥  Deleting "${profile}" in docker ...`);
      out(`🔥  Deleting container "${profile}" ...`);
      out(`🔥  Removing ${join(miniPath(), "machines", profile)} ...`);
    }
    await destroyCluster(keyFor(profile), `name.minikube.sigs.k8s.io=${profile}`, profile);
    await removeProfileLeftovers(profile);
    out(`💀  Removed all traces of the "${profile}" cluster.`);
  }
  if (flags.purge) {
    await rm(miniPath(), { recursive: true, force: true });
    out(`🔥  Successfully purged minikube directory located at - [${miniPath()}]`);
  }
}

async function listProfiles(): Promise<string[]> {
  const names = await readdir(join(miniPath(), "profiles")).catch(() => [] as string[]);
  const valid = [];
  for (const name of names.sort()) if (await profileExists(name)) valid.push(name);
  return valid;
}

async function status(argv: string[]): Promise<void> {
  const { flags } = parseArgs(argv, {
    ...GLOBAL,
    output: { type: "string", short: "o" },
    format: { type: "string", short: "f" },
    layout: { type: "string", short: "l" },
    node: { type: "string", short: "n" },
    watch: { type: "string", short: "w" },
  });
  const profile = profileOf(flags);
  const state = await profileState(profile);
  if (!state) throw notFound(profile);
  const api = state.url && (await apiGet(state.cluster, state.url, "/version")) ? "Running" : "Stopped";
  const kubeconfig = await readKubeconfig(state.cluster.kubeconfigPath);
  const configured = (kubeconfig.clusters ?? []).some(
    (entry) => entry.name === profile && (entry.cluster as { server?: string } | undefined)?.server === state.url,
  );
  const host = state.host === "Running" ? "Running" : state.host;
  const st = {
    Name: profile,
    Host: host,
    Kubelet: state.kubelet,
    APIServer: api,
    Kubeconfig: host !== "Running" ? "Stopped" : configured ? "Configured" : "Misconfigured",
    Worker: false,
    ...(process.env.MINIKUBE_ACTIVE_DOCKERD === profile ? { DockerEnv: "in-use" } : {}),
  };
  if (String(flags.output ?? "text").toLowerCase() === "json") process.stdout.write(JSON.stringify(st));
  else {
    out(
      `${st.Name}\ntype: Control Plane\nhost: ${st.Host}\nkubelet: ${st.Kubelet}\napiserver: ${st.APIServer}\nkubeconfig: ${st.Kubeconfig}${st.DockerEnv ? `\ndocker-env: ${st.DockerEnv}` : ""}\n`,
    );
    if (st.Kubeconfig === "Misconfigured")
      out("\nWARNING: Your kubectl is pointing to stale minikube-vm.\nTo fix the kubectl context, run `minikube update-context`");
  }
  // Bits: 1 host not running, 2 cluster not running, 4 kubeconfig not configured (status.go exitCode).
  const code = (st.Host !== "Running" ? 1 : 0) | (st.APIServer !== "Running" || st.Kubelet !== "Running" ? 2 : 0) | (st.Kubeconfig !== "Configured" ? 4 : 0);
  process.exitCode = code;
}

async function ip(argv: string[]): Promise<void> {
  const { flags } = parseArgs(argv, { ...GLOBAL, node: { type: "string", short: "n" } });
  const state = await mustBeRunning(profileOf(flags));
  out(state.cluster.nodes[0]?.ip ?? "");
}

async function profileList(argv: string[]): Promise<void> {
  const { flags } = parseArgs(argv, { ...GLOBAL, output: { type: "string", short: "o" }, light: { type: "bool", short: "l" } });
  const current = profileOf(flags);
  const kubeconfig = await readKubeconfig(await kubeconfigPathFor(current));
  const valid = [];
  for (const profile of await listProfiles()) {
    const state = await profileState(profile);
    const config = JSON.parse(await readFile(join(profileDir(profile), "config.json"), "utf8")) as Record<string, unknown>;
    const statusName = flags.light ? "Skipped" : state?.host === "Running" && state.url ? "OK" : "Stopped";
    valid.push({
      Name: profile,
      Status: statusName,
      Config: config,
      Active: profile === current,
      ActiveKubeContext: kubeconfig["current-context"] === profile,
    });
  }
  const output = String(flags.output ?? "table").toLowerCase();
  if (output === "json") return void process.stdout.write(JSON.stringify({ invalid: [], valid }));
  if (output !== "table") throw new MinikubeExit(EX.usage, `invalid output format: ${String(flags.output)}. Valid values: 'table', 'json'`, "MK_USAGE");
  if (valid.length === 0) throw new MinikubeExit(EX.usage, "No minikube profile was found.", "MK_USAGE_NO_PROFILE");
  const rows = valid.map((profile) => {
    const node = ((profile.Config.Nodes as { IP: string; Port: number }[] | undefined) ?? [])[0];
    const runtime = (profile.Config.KubernetesConfig as { ContainerRuntime?: string } | undefined)?.ContainerRuntime ?? "docker";
    return [
      profile.Name,
      "docker",
      runtime,
      node?.IP ?? "",
      String(node?.Port ?? 8443),
      KUBERNETES_VERSION,
      profile.Status,
      "1",
      profile.Active ? "*" : "",
      profile.ActiveKubeContext ? "*" : "",
    ];
  });
  process.stdout.write(table(["Profile", "VM Driver", "Runtime", "IP", "Port", "Version", "Status", "Nodes", "Active Profile", "Active Kubecontext"], rows));
}

async function imageLoad(argv: string[]): Promise<void> {
  const { positionals, flags } = parseArgs(argv, {
    ...GLOBAL,
    overwrite: { type: "bool" },
    daemon: { type: "bool" },
    remote: { type: "bool" },
    pull: { type: "bool" },
  });
  const state = await mustBeRunning(profileOf(flags));
  if (positionals.length === 0)
    throw new MinikubeExit(EX.usage, "Please provide an image in your local daemon to load into minikube via <minikube image load IMAGE_NAME>", "MK_USAGE");
  const node = state.cluster.nodes[0] as ClusterRecord["nodes"][number];
  for (const image of positionals) {
    if (!(await hostImageId(image)))
      throw new MinikubeExit(EX.guestError, `Failed to load image: ${image}: image not found in the local daemon`, "GUEST_IMAGE_LOAD");
    // --overwrite=false keeps an image already tagged so on the node (minikube#11276's behaviour).
    if (flags.overwrite === false && (await nodeImageId(nodeEngine(node.ip), image))) continue;
    await loadImage(node.container, image).catch((error: unknown) => {
      throw new MinikubeExit(EX.guestError, `Failed to load image: ${errorMessage(error)}`, "GUEST_IMAGE_LOAD");
    });
  }
}

async function dockerEnv(argv: string[]): Promise<void> {
  const { flags } = parseArgs(argv, {
    ...GLOBAL,
    shell: { type: "string" },
    unset: { type: "bool", short: "u" },
    "no-proxy": { type: "bool" },
    "ssh-host": { type: "bool" },
    "ssh-add": { type: "bool" },
  });
  const shell = (flags.shell as string | undefined) || (process.env.SHELL ? (process.env.SHELL.split("/").pop() as string) : "bash");
  if (flags.unset) return void process.stdout.write(unsetScript(shell, ["DOCKER_TLS_VERIFY", "DOCKER_HOST", "DOCKER_CERT_PATH", "MINIKUBE_ACTIVE_DOCKERD"]));
  const profile = profileOf(flags);
  const state = await mustBeRunning(profile);
  if ((state.cluster.containerRuntime ?? "docker") !== "docker") {
    throw new MinikubeExit(
      EX.usage,
      `The docker-env command is only compatible with the "docker" runtime, but this cluster was configured to use the "${state.cluster.containerRuntime}" runtime.`,
      "MK_USAGE",
    );
  }
  const certs = await ensureDockerEnvCerts();
  // cmd/minikube/cmd/docker-env.go: with driver.NeedsPortForward, the port Docker published for the
  // node's 2376 (oci.ForwardedPort) at the daemon's host (driver.ControlPlaneEndpoint: 127.0.0.1
  // for a local engine); otherwise the node's own address and port 2376.
  const node = state.cluster.nodes[0] as ClusterRecord["nodes"][number];
  const engineAddress = (await needsPortForward())
    ? `${await daemonHostIp()}:${await forwardedPort(node.container, ENGINE_PORT)}`
    : `${node.ip}:${ENGINE_PORT}`;
  const values: [string, string][] = [
    ["DOCKER_TLS_VERIFY", "1"],
    ["DOCKER_HOST", `tcp://${engineAddress}`],
    ["DOCKER_CERT_PATH", certs],
  ];
  if (!process.env.MINIKUBE_ACTIVE_DOCKERD) {
    for (const name of ["DOCKER_TLS_VERIFY", "DOCKER_HOST", "DOCKER_CERT_PATH"]) {
      const existing = process.env[name];
      if (existing) values.push([`MINIKUBE_EXISTING_${name}`, existing]);
    }
  }
  values.push(["MINIKUBE_ACTIVE_DOCKERD", profile]);
  process.stdout.write(setScript(shell, values, `minikube -p ${profile} docker-env`));
}

async function service(argv: string[]): Promise<void> {
  const { positionals, flags } = parseArgs(argv, {
    ...GLOBAL,
    url: { type: "bool" },
    namespace: { type: "string", short: "n" },
    https: { type: "bool" },
    format: { type: "string" },
    all: { type: "bool" },
    interval: { type: "string" },
    wait: { type: "string" },
  });
  const [name] = positionals;
  if (!name) throw new MinikubeExit(EX.usage, "You must specify service name(s) or --all", "MK_USAGE");
  const namespace = (flags.namespace as string | undefined) ?? "default";
  const state = await mustBeRunning(profileOf(flags));
  const answer = await apiGet(state.cluster, state.url, `/api/v1/namespaces/${namespace}/services/${name}`);
  if (!answer || answer.status === 404) {
    throw new MinikubeExit(
      EX.svcNotFound,
      `Service '${name}' was not found in '${namespace}' namespace.\nYou may select another namespace by using 'minikube service ${name} -n <namespace>'. Or list out all the services using 'minikube service list'`,
      "SVC_NOT_FOUND",
    );
  }
  const ports = ((answer.body as { spec?: { ports?: { nodePort?: number; targetPort?: number | string; port: number }[] } }).spec?.ports ?? []).filter(
    (port) => port.nodePort,
  );
  const node = state.cluster.nodes[0] as ClusterRecord["nodes"][number];
  const template = (flags.format as string | undefined) ?? "http://{{.IP}}:{{.Port}}";
  const format = (ip: string, port: number): string =>
    template
      .replace("{{.IP}}", ip)
      .replace("{{.Port}}", String(port))
      .replace(/^http:/, flags.https ? "https:" : "http:");
  if (ports.length === 0) return void process.stderr.write(`😿  service ${namespace}/${name} has no node port\n`);
  // cmd/minikube/cmd/service.go: where the node IP is out of reach, the node-IP URLs are never
  // printed; a tunnel is started instead and minikube stays in the foreground.
  if (await needsPortForward()) {
    return serviceTunnel({
      profile: profileOf(flags),
      namespace,
      name,
      node,
      nodePorts: ports.map((port) => port.nodePort as number),
      urlMode: Boolean(flags.url),
      format,
    });
  }
  const urls = ports.map((port) => format(node.ip, port.nodePort as number));
  if (flags.url) return void process.stdout.write(urls.map((url) => `${url}\n`).join(""));
  process.stdout.write(
    table(
      ["NAMESPACE", "NAME", "TARGET PORT", "URL"],
      ports.map((port, index) => [namespace, name, String(port.targetPort ?? port.port), urls[index] as string]),
    ),
  );
  out(`🎉  Opening service ${namespace}/${name} in default browser...`);
}

/**
 * cmd/minikube/cmd/service.go startKicServiceTunnel, for one Service: SIGINT is caught first
 * (signal.Notify), the ssh child started (tunnel/kic/service_tunnel.go Start: one `-L` per port,
 * each on a free local port, URLs http://127.0.0.1:PORT run through --format), one second of sleep,
 * the URLs (stdout) and the warning (stderr), then nothing until SIGINT: the deferred Stop kills
 * ssh (ssh_conn.go stop: Process.Kill) and minikube exits 0. With --url the tunnel's own messages
 * are suppressed. Any other ending (SIGTERM, SIGKILL) leaves the ssh child running, as Go's
 * default handling does in minikube.
 *
 * The simulator's difference: real ssh goes into the node and on to the Service's ClusterIP and
 * port; the stand-in (ssh-forward.ts) connects from this machine to the node IP and NodePort,
 * reaching the same pods (the nodes have no ClusterIPs: README item 9).
 */
async function serviceTunnel(tunnel: {
  profile: string;
  namespace: string;
  name: string;
  node: ClusterRecord["nodes"][number];
  nodePorts: number[];
  urlMode: boolean;
  format: (ip: string, port: number) => string;
}): Promise<void> {
  const interrupted = new Promise<void>((resolve) => process.once("SIGINT", () => resolve()));
  const sshPort = await forwardedPort(tunnel.node.container, 22);
  const sshKey = join(miniPath(), "machines", tunnel.profile, "id_rsa");
  const localPorts: number[] = [];
  for (let index = 0; index < tunnel.nodePorts.length; index += 1) localPorts.push(await freePort());
  if (!tunnel.urlMode) out(`🔗  Starting tunnel for service ${tunnel.name}.`);
  const started = Date.now();
  const ssh = spawn(
    process.execPath,
    [
      "--import",
      new URL("../../node_modules/tsx/dist/loader.mjs", import.meta.url).href,
      fileURLToPath(new URL("./ssh-forward.ts", import.meta.url)),
      "-o",
      "UserKnownHostsFile=/dev/null",
      "-o",
      "StrictHostKeyChecking=no",
      "-o",
      "IdentitiesOnly=yes",
      "-N",
      "docker@127.0.0.1",
      "-p",
      String(sshPort),
      "-i",
      sshKey,
      ...localPorts.map((local, index) => `-L ${local}:${tunnel.node.ip}:${tunnel.nodePorts[index]}`),
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  if (ssh.pid !== undefined) await record({ type: "forward", pid: ssh.pid });
  // minikube's time.Sleep(1s) gives ssh time to listen; the stand-in also waits for its (slower,
  // Node.js) start-up, so a URL is never printed before its port listens where ssh's would.
  await new Promise<void>((resolve) => {
    let listening = 0;
    ssh.stderr.on("data", (chunk: Buffer) => {
      listening += chunk
        .toString()
        .split("\n")
        .filter((line) => line.startsWith("Local forwarding listening")).length;
      if (listening >= localPorts.length) resolve();
    });
    ssh.once("exit", () => resolve());
    setTimeout(resolve, 10_000).unref();
  });
  ssh.stdout.resume();
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, 1000 - (Date.now() - started))));
  const urls = localPorts.map((port) => tunnel.format("127.0.0.1", port));
  if (tunnel.urlMode) out(urls.join("\n"));
  else {
    process.stdout.write(table(["NAMESPACE", "NAME", "TARGET PORT", "URL"], [[tunnel.namespace, tunnel.name, "", urls.join("\n")]]));
    out(`🎉  Opening service ${tunnel.namespace}/${tunnel.name} in default browser...`);
  }
  const os = process.platform === "win32" ? "windows" : process.platform;
  process.stderr.write(`❗  Because you are using a Docker driver on ${os}, the terminal needs to be open to run it.\n`);
  await interrupted;
  if (ssh.exitCode === null && ssh.signalCode === null) {
    if (!tunnel.urlMode) out(`✋  Stopping tunnel for service ${tunnel.name}.`);
    ssh.kill("SIGKILL");
  } else if (!tunnel.urlMode) out(`✋  Stopped tunnel for service ${tunnel.name}.`);
}

function version(argv: string[]): void {
  const { flags } = parseArgs(argv, { ...GLOBAL, short: { type: "bool" }, output: { type: "string", short: "o" }, components: { type: "bool" } });
  if (flags.short) return out(MINIKUBE_VERSION);
  if (flags.output === "json") return void process.stdout.write(JSON.stringify({ commit: MINIKUBE_COMMIT, minikubeVersion: MINIKUBE_VERSION }));
  if (flags.output === "yaml") return out(`commit: ${MINIKUBE_COMMIT}\nminikubeVersion: ${MINIKUBE_VERSION}`);
  out(`minikube version: ${MINIKUBE_VERSION}\ncommit: ${MINIKUBE_COMMIT}`);
}

async function main(argv: string[]): Promise<void> {
  const verbs = ["start", "delete", "status", "ip", "profile", "image", "docker-env", "service", "version"];
  const at = argv.findIndex((arg) => verbs.includes(arg));
  const verb = at >= 0 ? argv[at] : argv.find((arg) => !arg.startsWith("-"));
  const rest = argv.filter((_, index) => index !== at);
  const sub = (name: string): string[] | undefined => {
    const index = rest.indexOf(name);
    return index >= 0 ? rest.filter((_, position) => position !== index) : undefined;
  };
  switch (verb) {
    case "start":
      return start(rest);
    case "delete":
      return deleteProfile(rest);
    case "status":
      return status(rest);
    case "ip":
      return ip(rest);
    case "docker-env":
      return dockerEnv(rest);
    case "service":
      return service(rest);
    case "version":
      return version(rest);
    case "profile": {
      const args = sub("list");
      if (args) return profileList(args);
      break;
    }
    case "image": {
      const args = sub("load");
      if (args) return imageLoad(args);
      break;
    }
    case undefined:
      break;
    default:
      throw new UsageError(`unknown command "${verb}" for "minikube"`);
  }
  process.stdout.write(
    "minikube provisions and manages local Kubernetes clusters (mlkube cluster simulator stand-in: see test/sim/README.md)\n\nCommands: start, delete, status, ip, profile list, image load, docker-env, service, version\n",
  );
}

main(process.argv.slice(2)).then(
  () => process.exit(process.exitCode ?? 0),
  (error: unknown) => {
    if (error instanceof MinikubeExit) {
      if (error.stdout) out(error.message);
      else process.stderr.write(`\n❌  Exiting due to ${error.id ?? "MK_USAGE"}: ${error.message}\n\n`);
      process.exit(error.code);
    }
    if (error instanceof UsageError) {
      process.stderr.write(`Error: ${error.message}\nSee 'minikube --help' for usage.\n`);
      process.exit(EX.usage);
    }
    process.stderr.write(`\n❌  Exiting due to MK_ERROR: ${errorMessage(error)}\n\n`);
    process.exit(1);
  },
);
