/**
 * Stand-in for the `kind` executable (test/sim/bin/kind runs this). Subcommands, flags, messages,
 * output streams and exit codes follow kind v0.27 (pkg/cmd/kind/...): status and errors on stderr,
 * data on stdout, `ERROR: ...` and exit 1 on failure. See README.md for what differs.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { stringify } from "yaml";
import { apiGet, destroyCluster, labelledContainers, provisionNodes, startClusterDaemon } from "./cluster.js";
import { parseArgs, parseGoDuration, formatGoDuration, UsageError, type FlagSpecs } from "./cli/args.js";
import { kindNodeNames, parseKindConfig } from "./cli/kind-config.js";
import { errorMessage, goQuoteList, KindStatus } from "./cli/output.js";
import { execIn, hostDocker, sleep } from "./docker.js";
import { ensureNodeImage, NODE_IMAGE } from "./images.js";
import { kubeconfigPathFor, writeKubeconfigEntry, type KubeconfigEntry } from "./kubeconfig.js";
import { kindNodeContainerdConfig } from "./node/containerd-config.js";
import { hostImageId, loadImage, nodeImageId } from "./node/load-image.js";
import { nodeEngine } from "./node/engine.js";
import { ensureCA, issueCert } from "./pki.js";
import { clusterDir, loadCluster, loadDaemonInfo, record, type ClusterRecord } from "./state.js";

const KIND_VERSION = "kind v0.27.0 go1.23.6 linux/amd64";
const CLUSTER_LABEL = "io.x-k8s.kind.cluster";
const ROLE_LABEL = "io.x-k8s.kind.role";
const GLOBAL_FLAGS: FlagSpecs = {
  verbosity: { type: "string", short: "v" },
  quiet: { type: "bool", short: "q" },
  loglevel: { type: "string" },
  help: { type: "bool", short: "h" },
};
const NAME_FLAG: FlagSpecs = { name: { type: "string", short: "n" } };

class KindError extends Error {}

const keyFor = (name: string): string => `kind-${name}`;
const defaultName = (): string => process.env.KIND_CLUSTER_NAME || "kind";
const info = (line: string): void => void process.stderr.write(`${line}\n`);

async function createCluster(argv: string[]): Promise<void> {
  const { flags } = parseArgs(argv, {
    ...GLOBAL_FLAGS,
    ...NAME_FLAG,
    config: { type: "string" },
    image: { type: "string" },
    retain: { type: "bool" },
    wait: { type: "string" },
    kubeconfig: { type: "string" },
  });
  const configText = flags.config === "-" ? await readStdin() : flags.config ? await readFile(String(flags.config), "utf8") : undefined;
  let config;
  try {
    config = parseKindConfig(configText);
  } catch (error) {
    throw new KindError(`failed to create cluster: ${errorMessage(error)}`);
  }
  const name = (flags.name as string | undefined) || process.env.KIND_CLUSTER_NAME || config.name || "kind";
  if (!/^[a-z0-9.-]+$/.test(name))
    throw new KindError(`failed to create cluster: '${name}' is not a valid cluster name, cluster names must match \`^[a-z0-9.-]+$\``);
  if ((await labelledContainers(`${CLUSTER_LABEL}=${name}`)).length > 0) {
    throw new KindError(`failed to create cluster: node(s) already exist for a cluster with the name "${name}"`);
  }
  const waitMs = flags.wait ? parseGoDuration(String(flags.wait)) : 0;
  const key = keyFor(name);
  const names = kindNodeNames(name, config.nodes);
  const pkiDir = join(clusterDir(key), "pki");
  const status = new KindStatus();
  info(`Creating cluster "${name}" ...`);
  try {
    status.start(`Ensuring node image (${(flags.image as string | undefined) ?? NODE_IMAGE}) 🖼`);
    await ensureNodeImage();
    status.start(`Preparing nodes ${"📦 ".repeat(names.length).trim()}`);
    const kubeconfigPath = await kubeconfigPathFor(`kind-${name}`, flags.kubeconfig as string | undefined);
    const cluster = await provisionNodes({
      key,
      tool: "kind",
      name,
      network: "kind",
      pullMode: "containerd-hosts",
      kubeconfigPath,
      apiServerPort: config.apiServerPort,
      pki: {
        ca: join(pkiDir, "ca.crt"),
        apiServerCert: join(pkiDir, "apiserver.crt"),
        apiServerKey: join(pkiDir, "apiserver.key"),
        clientCert: join(pkiDir, "admin.crt"),
        clientKey: join(pkiDir, "admin.key"),
      },
      nodeSpecs: config.nodes.map((node, index) => ({
        container: names[index] as string,
        role: node.role,
        labels: { [CLUSTER_LABEL]: name, [ROLE_LABEL]: node.role },
        ports: node.extraPortMappings,
        mounts: node.extraMounts,
      })),
    });
    status.start("Writing configuration 📜");
    await writeClusterPki(cluster);
    await writeContainerdConfig(cluster, kindNodeContainerdConfig(flags.image as string | undefined, config.containerdConfigPatches));
    status.start("Starting control-plane 🕹️");
    const daemon = await startClusterDaemon(cluster);
    status.start("Installing CNI 🔌");
    status.start("Installing StorageClass 💾");
    if (cluster.nodes.some((node) => node.role === "worker")) status.start("Joining worker nodes 🚜");
    status.end(true);
    if (waitMs > 0) await waitForReady(cluster, daemon.url, waitMs, status);
    await writeKubeconfigEntry(kubeconfigPath, await kubeconfigEntry(cluster, daemon.url), true);
    await record({ type: "kubeconfig", path: kubeconfigPath, name: `kind-${name}` });
  } catch (error) {
    status.end(false);
    if (!flags.retain) {
      const removed = await destroyCluster(key, `${CLUSTER_LABEL}=${name}`, `kind-${name}`).catch(() => []);
      if (removed.length > 0) info(`Deleted nodes: ${goQuoteList(removed)}`);
    }
    throw new KindError(`failed to create cluster: ${errorMessage(error)}`);
  }
  const context = `kind-${name}`;
  info(`Set kubectl context to "${context}"`);
  info(
    `You can now use your cluster with:\n\nkubectl cluster-info --context ${context}${flags.kubeconfig ? ` --kubeconfig ${String(flags.kubeconfig)}` : ""}\n`,
  );
  info("Have a nice day! 👋");
}

/** The node image's containerd configuration with the cluster's patches, as kind writes it before containerd starts. */
async function writeContainerdConfig(cluster: ClusterRecord, configToml: string): Promise<void> {
  const script = 'mkdir -p /etc/containerd && printf "%s" "$1" > /etc/containerd/config.toml';
  for (const node of cluster.nodes) {
    const result = await execIn(hostDocker, node.container, ["sh", "-c", script, "sh", configToml]);
    if (result.exitCode !== 0) throw new Error(`writing /etc/containerd/config.toml on ${node.container}: ${result.stderr.trim()}`);
  }
}

/** kubeadm's certificates, made with openssl: the cluster CA, the API server's, the admin user's; the CA also on the control plane. */
async function writeClusterPki(cluster: ClusterRecord): Promise<void> {
  const { pki } = cluster;
  await ensureCA(pki.ca, pki.ca.replace(/\.crt$/, ".key"), "kubernetes");
  const controlPlane = cluster.nodes.find((node) => node.role === "control-plane");
  await issueCert({
    caCert: pki.ca,
    caKey: pki.ca.replace(/\.crt$/, ".key"),
    certPath: pki.apiServerCert,
    keyPath: pki.apiServerKey,
    commonName: "kube-apiserver",
    usage: "server",
    dnsNames: [
      "kubernetes",
      "kubernetes.default",
      "kubernetes.default.svc",
      "kubernetes.default.svc.cluster.local",
      "localhost",
      `${cluster.name}-control-plane`,
    ],
    ips: ["10.96.0.1", "127.0.0.1", ...(controlPlane ? [controlPlane.ip] : [])],
  });
  await issueCert({
    caCert: pki.ca,
    caKey: pki.ca.replace(/\.crt$/, ".key"),
    certPath: pki.clientCert,
    keyPath: pki.clientKey,
    commonName: "kubernetes-admin",
    organization: "kubeadm:cluster-admins",
    usage: "client",
  });
  // kubeadm leaves the CA in /etc/kubernetes/pki of each control-plane node; a cluster admin signs
  // other users' certificates with it (kubernetes.io/docs/tasks/administer-cluster/certificates).
  const script =
    'mkdir -p /etc/kubernetes/pki && printf "%s" "$1" > /etc/kubernetes/pki/ca.crt && printf "%s" "$2" > /etc/kubernetes/pki/ca.key && chmod 600 /etc/kubernetes/pki/ca.key';
  const [caCert, caKey] = await Promise.all([readFile(pki.ca, "utf8"), readFile(pki.ca.replace(/\.crt$/, ".key"), "utf8")]);
  for (const node of cluster.nodes.filter((n) => n.role === "control-plane")) {
    const result = await execIn(hostDocker, node.container, ["sh", "-c", script, "sh", caCert, caKey]);
    if (result.exitCode !== 0) throw new Error(`writing /etc/kubernetes/pki on ${node.container}: ${result.stderr.trim()}`);
  }
}

async function kubeconfigEntry(cluster: ClusterRecord, server: string): Promise<KubeconfigEntry> {
  const base64 = async (path: string): Promise<string> => (await readFile(path)).toString("base64");
  const name = `kind-${cluster.name}`;
  return {
    name,
    cluster: { "certificate-authority-data": await base64(cluster.pki.ca), server },
    context: { cluster: name, user: name },
    user: { "client-certificate-data": await base64(cluster.pki.clientCert), "client-key-data": await base64(cluster.pki.clientKey) },
  };
}

async function waitForReady(cluster: ClusterRecord, url: string, waitMs: number, status: KindStatus): Promise<void> {
  status.start(`Waiting ≤ ${formatGoDuration(waitMs)} for control-plane = Ready ⏳`);
  const started = Date.now();
  const node = cluster.nodes.find((entry) => entry.role === "control-plane")?.container ?? "";
  while (Date.now() - started < waitMs) {
    const answer = await apiGet(cluster, url, `/api/v1/nodes/${node}`);
    const conditions = (answer?.body as { status?: { conditions?: { type: string; status: string }[] } } | undefined)?.status?.conditions ?? [];
    if (conditions.some((condition) => condition.type === "Ready" && condition.status === "True")) {
      status.end(true);
      info(` • Ready after ${formatGoDuration(Date.now() - started)} 💚`);
      return;
    }
    await sleep(500);
  }
  status.end(false);
  info(" • WARNING: Timed out waiting for Ready ⚠️");
}

async function deleteCluster(argv: string[]): Promise<void> {
  const { flags } = parseArgs(argv, { ...GLOBAL_FLAGS, ...NAME_FLAG, kubeconfig: { type: "string" } });
  const name = (flags.name as string | undefined) || defaultName();
  info(`Deleting cluster "${name}" ...`);
  const removed = await destroyCluster(keyFor(name), `${CLUSTER_LABEL}=${name}`, `kind-${name}`);
  if (removed.length > 0) info(`Deleted nodes: ${goQuoteList(removed)}`);
}

async function deleteClusters(argv: string[]): Promise<void> {
  const { positionals, flags } = parseArgs(argv, { ...GLOBAL_FLAGS, all: { type: "bool", short: "A" }, kubeconfig: { type: "string" } });
  const names = flags.all ? await clusterNames() : positionals;
  for (const name of names) await destroyCluster(keyFor(name), `${CLUSTER_LABEL}=${name}`, `kind-${name}`);
  info(`Deleted clusters: ${goQuoteList(names)}`);
}

async function clusterNames(): Promise<string[]> {
  const containers = await labelledContainers(CLUSTER_LABEL);
  return [...new Set(containers.map((container) => container.labels[CLUSTER_LABEL] as string))].sort();
}

async function getClusters(argv: string[]): Promise<void> {
  parseArgs(argv, GLOBAL_FLAGS);
  const names = await clusterNames();
  if (names.length === 0) return info("No kind clusters found.");
  process.stdout.write(names.map((name) => `${name}\n`).join(""));
}

async function getNodes(argv: string[]): Promise<void> {
  const { flags } = parseArgs(argv, { ...GLOBAL_FLAGS, ...NAME_FLAG, "all-clusters": { type: "bool", short: "A" } });
  const name = (flags.name as string | undefined) || defaultName();
  const nodes = await labelledContainers(flags["all-clusters"] ? CLUSTER_LABEL : `${CLUSTER_LABEL}=${name}`);
  if (nodes.length === 0) return info(flags["all-clusters"] ? "No kind nodes for any cluster." : `No kind nodes found for cluster "${name}".`);
  process.stdout.write(nodes.map((node) => `${node.name}\n`).join(""));
}

async function controlPlaneOf(name: string): Promise<{ cluster: ClusterRecord; url: string }> {
  const nodes = await labelledContainers(`${CLUSTER_LABEL}=${name}`);
  const cluster = await loadCluster(keyFor(name));
  const daemon = await loadDaemonInfo(keyFor(name));
  if (!nodes.some((node) => node.labels[ROLE_LABEL] === "control-plane") || !cluster || !daemon) {
    throw new KindError(`could not locate any control plane nodes for cluster named '${name}'. Use the --name option to select a different cluster`);
  }
  return { cluster, url: daemon.url };
}

async function getKubeconfig(argv: string[]): Promise<void> {
  const { flags } = parseArgs(argv, { ...GLOBAL_FLAGS, ...NAME_FLAG, internal: { type: "bool" } });
  const name = (flags.name as string | undefined) || defaultName();
  const { cluster, url } = await controlPlaneOf(name);
  // --internal: the address other containers on the `kind` network use (see README: nothing answers there).
  const server = flags.internal ? `https://${name}-control-plane:6443` : url;
  const entry = await kubeconfigEntry(cluster, server);
  process.stdout.write(
    stringify({
      apiVersion: "v1",
      clusters: [{ cluster: entry.cluster, name: entry.name }],
      contexts: [{ context: entry.context, name: entry.name }],
      "current-context": entry.name,
      kind: "Config",
      preferences: {},
      users: [{ name: entry.name, user: entry.user }],
    }),
  );
}

async function exportKubeconfig(argv: string[]): Promise<void> {
  const { flags } = parseArgs(argv, { ...GLOBAL_FLAGS, ...NAME_FLAG, kubeconfig: { type: "string" }, internal: { type: "bool" } });
  const name = (flags.name as string | undefined) || defaultName();
  const { cluster, url } = await controlPlaneOf(name);
  const path = await kubeconfigPathFor(`kind-${name}`, flags.kubeconfig as string | undefined);
  await writeKubeconfigEntry(path, await kubeconfigEntry(cluster, flags.internal ? `https://${name}-control-plane:6443` : url), true);
  await record({ type: "kubeconfig", path, name: `kind-${name}` });
  info(`Set kubectl context to "kind-${name}"`);
}

async function loadDockerImage(argv: string[]): Promise<void> {
  const { positionals, flags } = parseArgs(argv, { ...GLOBAL_FLAGS, name: { type: "string" }, nodes: { type: "strings" } });
  if (positionals.length === 0) throw new KindError("a list of image names is required");
  const name = (flags.name as string | undefined) || defaultName();
  const ids: string[] = [];
  for (const image of positionals) {
    const id = await hostImageId(image);
    if (!id) throw new KindError(`image: "${image}" not present locally`);
    ids.push(id);
  }
  const nodes = await labelledContainers(`${CLUSTER_LABEL}=${name}`);
  if (nodes.length === 0) throw new KindError(`no nodes found for cluster "${name}"`);
  let candidates = nodes;
  const wanted = (flags.nodes as string[] | undefined) ?? [];
  if (wanted.length > 0) {
    const unknown = wanted.find((node) => !nodes.some((entry) => entry.name === node));
    if (unknown) throw new KindError(`unknown node: "${unknown}"`);
    candidates = nodes.filter((node) => wanted.includes(node.name));
  }
  const cluster = await loadCluster(keyFor(name));
  for (const [index, image] of positionals.entries()) {
    const id = ids[index] as string;
    const missing = [];
    for (const node of candidates) {
      const ip = cluster?.nodes.find((entry) => entry.container === node.name)?.ip;
      const present = ip ? await nodeImageId(nodeEngine(ip), image).catch(() => undefined) : undefined;
      if (present !== id) {
        missing.push(node.name);
        info(`Image: "${image}" with ID "${id}" not yet present on node "${node.name}", loading...`);
      }
    }
    if (missing.length === 0) {
      info(`Image: "${image}" with ID "${id}" found to be already present on all nodes.`);
      continue;
    }
    await Promise.all(missing.map((node) => loadImage(node, image)));
  }
}

function readStdin(): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    process.stdin
      .on("data", (chunk: Buffer) => chunks.push(chunk))
      .on("end", () => resolve(Buffer.concat(chunks).toString("utf8")))
      .on("error", reject);
  });
}

const USAGE = `kind creates and manages local Kubernetes clusters using Docker container 'nodes'
(mlkube cluster simulator stand-in: see test/sim/README.md)

Usage:
  kind [command]

Available Commands:
  create      Creates one of [cluster]
  delete      Deletes one of [cluster]
  export      Exports one of [kubeconfig]
  get         Gets one of [clusters, nodes, kubeconfig]
  load        Loads images into nodes
  version     Prints the kind CLI version
`;

async function main(argv: string[]): Promise<void> {
  // Global flags may precede the verb (`kind -v 1 get clusters`): the verb is the first known one.
  const verbs = ["create", "delete", "get", "export", "load", "version"];
  const verbAt = argv.findIndex((arg) => verbs.includes(arg));
  const verb = verbAt >= 0 ? argv[verbAt] : argv.find((arg) => !arg.startsWith("-"));
  const nounAt = verbAt >= 0 ? argv.findIndex((arg, index) => index > verbAt && !arg.startsWith("-")) : -1;
  const noun = nounAt >= 0 ? argv[nounAt] : undefined;
  const rest = (): string[] => argv.filter((_, index) => index !== verbAt && index !== nounAt);
  const commands: Record<string, (args: string[]) => Promise<void>> = {
    "create cluster": createCluster,
    "delete cluster": deleteCluster,
    "delete clusters": deleteClusters,
    "get clusters": getClusters,
    "get nodes": getNodes,
    "get kubeconfig": getKubeconfig,
    "export kubeconfig": exportKubeconfig,
    "load docker-image": loadDockerImage,
  };
  if (verb === "version") return void process.stdout.write(`${KIND_VERSION}\n`);
  const command = commands[`${verb} ${noun}`];
  if (command) return command(rest());
  if (!verb || argv.includes("--help") || argv.includes("-h")) return void process.stdout.write(USAGE);
  if (!["create", "delete", "get", "export", "load"].includes(verb)) throw new KindError(`unknown command "${verb}" for "kind"`);
  process.stdout.write(USAGE);
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (error: unknown) => {
    const known = error instanceof KindError || error instanceof UsageError;
    process.stderr.write(`ERROR: ${errorMessage(error)}\n`);
    if (!known && error instanceof Error && error.stack && process.env.MLKUBE_SIM_DEBUG) process.stderr.write(`${error.stack}\n`);
    process.exit(1);
  },
);
