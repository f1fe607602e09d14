import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { chooseDelivery } from "../../core/delivery.js";
import { deliverByPush } from "./push-delivery.js";
import type { ProviderChoice } from "../../core/provider-choice.js";
import { UserError } from "../../errors.js";
import type { DockerConnection } from "../docker/client.js";
import { execInContainer, writeFileInContainer } from "../docker/container-exec.js";
import type { Exec } from "../exec.js";
import { connectKube, ensureKubeReachable, kubeContexts, readKubeConfig, type KubeAccess } from "../kube/client.js";
import { announceRegistry, readAnnouncedRegistry } from "../kube/registry-hosting.js";
import { freeNodePortRange, nodePortsTakenError, takenNodePorts } from "./node-ports.js";
import { mappedPortEndpoint, portForwardEndpoint } from "./endpoint.js";
import type { CreatedClusters } from "./created-clusters.js";
import { markCreatedByMlkube } from "./creation-mark.js";
import { keepingCurrentContext } from "./current-context.js";
import { hostsSupport, type HostsSupport } from "./containerd-hosts.js";
import { crictlImageId, ctrListCommand, ctrTargetDigest, matchLoadedImage, type NodeImageReport } from "./loaded-image.js";
import { checkRegistryPort, connectRegistry, ensureRegistry, registryRunning, removeRegistry, type RegistrySettings } from "./local-registry.js";
import type {
  BuiltImage,
  ClusterProvider,
  ClusterStatus,
  DeliveryResult,
  Endpoint,
  EnsureOptions,
  ReadyCluster,
  ServiceRef,
  StepReporter,
  UpPlan,
} from "./provider.js";

interface KindSettings {
  /** NodePorts to map to 127.0.0.1 at creation (mappings cannot be added later). */
  nodePorts: number[];
  /** undefined: no registry (cluster.registry: off or an external one). */
  registry: RegistrySettings | undefined;
  /** mlkube.yaml cluster.registry, for the delivery decision. */
  registrySetting: string;
}

/** Why this session cannot use the local registry (chooseDelivery's inputs of the same names). */
interface RegistryProblem {
  registryUnavailable?: string;
  nodesCannotPull?: string;
}

/** Where mlkube writes hosts.toml when a node's configuration cannot be read (kind's docs use it). */
const DEFAULT_HOSTS_DIR = "/etc/containerd/certs.d";

/** kind puts every node on this Docker network. */
const KIND_NETWORK = "kind";

/** kind: clusters are Docker containers; NodePorts reach the host only through extraPortMappings. */
export class KindProvider implements ClusterProvider {
  constructor(
    readonly choice: ProviderChoice,
    private readonly settings: KindSettings,
    private readonly deps: { exec: Exec; docker: DockerConnection; record: CreatedClusters },
  ) {}

  /** The cluster config: mapped NodePorts bound to 127.0.0.1, and containerd reading per-registry hosts.toml. */
  clusterConfig(): string {
    const config: Record<string, unknown> = {
      kind: "Cluster",
      apiVersion: "kind.x-k8s.io/v1alpha4",
      name: this.choice.clusterName,
      nodes: [
        {
          role: "control-plane",
          extraPortMappings: this.settings.nodePorts.map((port) => ({ containerPort: port, hostPort: port, listenAddress: "127.0.0.1", protocol: "TCP" })),
        },
      ],
    };
    // Node images before v0.27 need config_path set to read /etc/containerd/certs.d (kind docs,
    // "Local Registry": the containerdConfigPatches entry; v0.27 release notes).
    if (this.settings.registry) config.containerdConfigPatches = ['[plugins."io.containerd.grpc.v1.cri".registry]\n  config_path = "/etc/containerd/certs.d"'];
    return stringify(config);
  }

  async plan(): Promise<UpPlan> {
    const name = this.choice.clusterName;
    const registry = this.settings.registry;
    const steps = [
      `kind create cluster --name ${name} --config <the configuration above>`,
      ...(registry
        ? [
            `docker run -d --restart=always -p 127.0.0.1:${registry.hostPort}:5000 --name ${registry.container} ${registry.image}`,
            `on each node: /etc/containerd/certs.d/localhost:${registry.hostPort}/hosts.toml -> http://${registry.container}:5000`,
            `docker network connect ${KIND_NETWORK} ${registry.container}`,
            `ConfigMap kube-public/local-registry-hosting announcing localhost:${registry.hostPort}`,
          ]
        : []),
    ];
    return {
      choice: this.choice,
      clusterConfig: this.clusterConfig(),
      registry: registry && { container: registry.container, listen: `127.0.0.1:${registry.hostPort}`, image: registry.image },
      steps,
    };
  }

  async ensure(report: StepReporter, options: EnsureOptions = {}): Promise<ReadyCluster> {
    const { signal } = options;
    const name = this.choice.clusterName;
    const registry = this.settings.registry;
    const created = !(await this.exists());
    // Taken ports fail `up` before anything exists, rather than as Docker's error from inside kind.
    if (created) {
      const taken = await takenNodePorts(this.deps.docker.client, this.settings.nodePorts);
      if (taken.length > 0) throw nodePortsTakenError(name, taken, await freeNodePortRange(this.deps.docker.client, this.settings.nodePorts.length));
    }
    if (created && registry && options.withoutRegistry !== "load") await checkRegistryPort(this.deps.docker.client, registry);
    await keepingCurrentContext(this.choice.context, report, async () => {
      if (!created) {
        report({ title: `kind cluster '${name}'`, status: "skipped", detail: "already exists" });
        if (!kubeContexts().names.includes(this.choice.context)) {
          await this.deps.exec("kind", ["export", "kubeconfig", "--name", name], { signal });
          report({ title: `kube context ${this.choice.context}`, status: "done", detail: "restored with 'kind export kubeconfig'" });
        }
      } else {
        await this.create(report, signal);
      }
    });
    const kube = connectKube(this.choice.context, readKubeConfig());
    await ensureKubeReachable(kube);
    if (created) await markCreatedByMlkube(kube, name);
    const registryProblem = registry ? await this.wireRegistry(registry, kube, report, options.withoutRegistry ?? "fail") : undefined;
    return this.ready(kube, registryProblem);
  }

  /**
   * `kind create cluster`, recorded as mlkube's before it runs: a later step (the registry) may
   * fail, and `mlkube down` must still know the cluster is mlkube's to delete. The record is
   * dropped again when kind failed and left no cluster behind.
   */
  private async create(report: StepReporter, signal: AbortSignal | undefined): Promise<void> {
    const name = this.choice.clusterName;
    report({ title: `kind cluster '${name}'`, status: "running", detail: "creating (this takes a minute or two)" });
    await this.deps.record.add("kind", name);
    const dir = await mkdtemp(join(tmpdir(), "mlkube-kind-"));
    try {
      const configFile = join(dir, "cluster.yaml");
      await writeFile(configFile, this.clusterConfig());
      await this.deps.exec("kind", ["create", "cluster", "--name", name, "--config", configFile, "--wait", "120s"], {
        signal,
        onLine: (line) => report({ title: `kind cluster '${name}'`, status: "running", detail: line.trim() }),
      });
    } catch (error) {
      if (!(await this.exists().catch(() => true))) await this.deps.record.remove("kind", name);
      throw error;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    report({ title: `kind cluster '${name}'`, status: "done" });
  }

  /**
   * Starts and wires the local registry. Returns why the registry path cannot be used this session
   * instead of failing: the nodes' containerd ignores hosts.toml (an existing cluster made by an
   * older kind), or, with withoutRegistry "load", the registry could not start.
   */
  private async wireRegistry(
    registry: RegistrySettings,
    kube: KubeAccess,
    report: StepReporter,
    withoutRegistry: "fail" | "load",
  ): Promise<RegistryProblem | undefined> {
    const docker = this.deps.docker.client;
    const title = `registry ${registry.container} on 127.0.0.1:${registry.hostPort}`;
    const nodes = await this.nodes();
    const hostsDirs = new Map<string, string>();
    for (const node of nodes) {
      const support = await this.nodeHostsSupport(node);
      if (support.reads === false) {
        // Pushing there would end in ErrImagePull on every pod: load instead, and announce nothing.
        report({ title, status: "skipped", detail: `not used: node ${node} cannot pull from it (${support.why})` });
        return { nodesCannotPull: `node ${node} cannot pull from the local registry: ${support.why}` };
      }
      if (support.reads === "unknown")
        report({ title: `containerd on ${node}`, status: "skipped", detail: `${support.why}; assuming it reads ${DEFAULT_HOSTS_DIR}` });
      hostsDirs.set(node, support.reads === true ? support.hostsDir : DEFAULT_HOSTS_DIR);
    }
    let started: boolean;
    try {
      started = await ensureRegistry(docker, registry);
    } catch (error) {
      if (withoutRegistry === "fail" || !(error instanceof UserError)) throw error;
      report({ title, status: "failed", detail: `${error.message} Loading images instead for this session.` });
      // Becomes part of the delivery reason: "the local registry could not start (port ... is taken by ...)".
      const why = error.message.replace(/\.$/, "");
      return { registryUnavailable: why.charAt(0).toLowerCase() + why.slice(1) };
    }
    report({ title, status: started ? "done" : "skipped", detail: started ? "started" : "already running" });
    const hostsToml = `[host."http://${registry.container}:5000"]\n`;
    const needsConfig = [];
    for (const node of nodes) {
      const hostsPath = `${hostsDirs.get(node) ?? DEFAULT_HOSTS_DIR}/localhost:${registry.hostPort}/hosts.toml`;
      const current = await execInContainer(docker, node, ["cat", hostsPath]).catch(() => "");
      if (current !== hostsToml) needsConfig.push({ node, hostsPath });
    }
    for (const { node, hostsPath } of needsConfig) await writeFileInContainer(docker, node, hostsPath, hostsToml);
    report({
      title: "registry wired into the nodes",
      status: needsConfig.length > 0 ? "done" : "skipped",
      detail: needsConfig.length > 0 ? `hosts.toml on ${needsConfig.map(({ node }) => node).join(", ")}` : "hosts.toml already in place",
    });
    const connected = await connectRegistry(docker, registry, KIND_NETWORK);
    report({
      title: `registry on the '${KIND_NETWORK}' network`,
      status: connected ? "done" : "skipped",
      detail: connected ? "connected" : "already connected",
    });
    const host = `localhost:${registry.hostPort}`;
    const announced = await readAnnouncedRegistry(kube);
    if (announced !== "forbidden" && announced?.host === host) {
      report({ title: "registry announced (kube-public/local-registry-hosting)", status: "skipped", detail: "already announced" });
    } else {
      await announceRegistry(kube, { host, hostFromClusterNetwork: `${registry.container}:5000`, help: "https://kind.sigs.k8s.io/docs/user/local-registry/" });
      report({ title: "registry announced (kube-public/local-registry-hosting)", status: "done" });
    }
    return undefined;
  }

  /** Where the node's containerd looks for hosts.toml, from its effective configuration. */
  private async nodeHostsSupport(node: string): Promise<HostsSupport> {
    try {
      return hostsSupport(await execInContainer(this.deps.docker.client, node, ["containerd", "config", "dump"]));
    } catch (error) {
      return { reads: "unknown", why: `'containerd config dump' failed (${(error as Error).message.split("\n")[0]})` };
    }
  }

  private async ready(kube: KubeAccess, registryProblem: RegistryProblem | undefined): Promise<ReadyCluster> {
    const decision = chooseDelivery({
      provider: "kind",
      registrySetting: this.settings.registrySetting,
      announced: await readAnnouncedRegistry(kube),
      localRegistryUnavailable: registryProblem?.registryUnavailable,
      nodesCannotPull: registryProblem?.nodesCannotPull,
    });
    if ("error" in decision) throw new UserError("delivery", decision.error, { hint: decision.hint });
    const mapped = await this.mappedNodePorts();
    return {
      choice: this.choice,
      kube,
      delivery: decision,
      buildEngine: this.deps.docker,
      mappedNodePorts: mapped,
      deliver: async (image, options = {}): Promise<DeliveryResult> => {
        if (decision.path === "registry") {
          return deliverByPush(this.deps.docker.client, decision, image, options);
        }
        return this.load(image, options.signal);
      },
      endpoint: (service) => endpointFor(kube, service, mapped),
    };
  }

  async endpoint(kube: KubeAccess, service: ServiceRef): Promise<Endpoint> {
    return endpointFor(kube, service, await this.mappedNodePorts());
  }

  /**
   * `kind load docker-image`, then proof that every node has that exact image (kind#2402), by the
   * config digest or, with Docker's containerd image store, the target digest (loaded-image.ts).
   */
  private async load(image: BuiltImage, signal?: AbortSignal): Promise<DeliveryResult> {
    const started = performance.now();
    const reference = `${image.repository}:${image.tag}`;
    await this.deps.exec("kind", ["load", "docker-image", reference, "--name", this.choice.clusterName], { signal });
    for (const node of await this.nodes()) {
      const report = await this.nodeImage(node, reference, image.imageId);
      if (!matchLoadedImage(image.imageId, report)) {
        const found = report.criImageId
          ? `image ${report.criImageId.slice(0, 19)}${report.containerdTarget ? ` (target ${report.containerdTarget.slice(0, 19)})` : ""}`
          : "no image";
        throw new UserError("delivery", `After 'kind load docker-image', node ${node} has ${found} for ${reference}, not ${image.imageId.slice(0, 19)}.`, {
          hint: `A load can stop half-way (kind#2402). Run 'kind load docker-image ${reference} --name ${this.choice.clusterName}' again, or enable the registry (cluster.registry: auto).`,
        });
      }
    }
    const { Size } = await this.deps.docker.client.getImage(image.imageId).inspect();
    return { path: "load", podImage: reference, bytesMoved: Size, durationMs: performance.now() - started, detail: "whole image loaded into every node" };
  }

  /** What the node has for REFERENCE: CRI's ID first; containerd's target digest only when that differs (as kind PR #4238). */
  private async nodeImage(node: string, reference: string, wanted: string): Promise<NodeImageReport> {
    const docker = this.deps.docker.client;
    // crictl and ctr exit non-zero when the image is absent: that is the answer.
    const criImageId = await execInContainer(docker, node, ["crictl", "inspecti", "-o", "json", reference]).then(crictlImageId, () => undefined);
    if (!criImageId || matchLoadedImage(wanted, { criImageId })) return { criImageId };
    const containerdTarget = await execInContainer(docker, node, ctrListCommand(reference)).then(
      (output) => ctrTargetDigest(output, reference),
      () => undefined,
    );
    return { criImageId, containerdTarget };
  }

  async status(): Promise<ClusterStatus> {
    const exists = await this.exists();
    const nodes = exists ? await this.nodes() : [];
    const registry = this.settings.registry;
    const running = exists && (await Promise.all(nodes.map((node) => this.containerRunning(node)))).every(Boolean);
    return {
      choice: this.choice,
      exists,
      running,
      nodes,
      registry: registry && {
        container: registry.container,
        listen: `127.0.0.1:${registry.hostPort}`,
        running: await registryRunning(this.deps.docker.client, registry),
      },
      mappedNodePorts: exists ? await this.mappedNodePorts() : [],
    };
  }

  async remove(options: { registry: boolean }, report: StepReporter): Promise<void> {
    const name = this.choice.clusterName;
    if (await this.exists()) {
      report({ title: `kind cluster '${name}'`, status: "running", detail: "deleting" });
      await keepingCurrentContext(this.choice.context, report, () => this.deps.exec("kind", ["delete", "cluster", "--name", name]));
      report({ title: `kind cluster '${name}'`, status: "done", detail: "deleted" });
    } else {
      report({ title: `kind cluster '${name}'`, status: "skipped", detail: "does not exist" });
    }
    if (options.registry && this.settings.registry) {
      const removed = await removeRegistry(this.deps.docker.client, this.settings.registry);
      report({ title: `registry ${this.settings.registry.container}`, status: removed ? "done" : "skipped", detail: removed ? "removed" : "not running" });
    }
  }

  async exists(): Promise<boolean> {
    const { stdout } = await this.deps.exec("kind", ["get", "clusters"]);
    return stdout
      .split("\n")
      .map((line) => line.trim())
      .includes(this.choice.clusterName);
  }

  async nodes(): Promise<string[]> {
    const { stdout } = await this.deps.exec("kind", ["get", "nodes", "--name", this.choice.clusterName]);
    return stdout
      .split("\n")
      .map((line) => line.trim())
      .filter(Boolean);
  }

  /** Host ports the control-plane node publishes on the host, i.e. NodePorts reachable without a port-forward. */
  private async mappedNodePorts(): Promise<number[]> {
    const node = `${this.choice.clusterName}-control-plane`;
    try {
      const info = await this.deps.docker.client.getContainer(node).inspect();
      return Object.entries(info.HostConfig.PortBindings ?? {})
        .filter(
          ([key, bindings]) => key.endsWith("/tcp") && (bindings as { HostPort?: string }[] | null)?.some((binding) => binding.HostPort === key.split("/")[0]),
        )
        .map(([key]) => Number(key.split("/")[0]));
    } catch {
      return [];
    }
  }

  private async containerRunning(name: string): Promise<boolean> {
    try {
      return (await this.deps.docker.client.getContainer(name).inspect()).State.Running;
    } catch {
      return false;
    }
  }
}

/** The NodePort on 127.0.0.1 where the node maps it (extraPortMappings), else a port-forward. */
async function endpointFor(kube: KubeAccess, service: ServiceRef, mapped: readonly number[]): Promise<Endpoint> {
  return mapped.includes(service.nodePort) ? mappedPortEndpoint(service.nodePort) : portForwardEndpoint(kube, service);
}
