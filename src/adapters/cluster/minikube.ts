import { chooseDelivery, podImageFor } from "../../core/delivery.js";
import { deliverByPush } from "./push-delivery.js";
import type { ProviderChoice } from "../../core/provider-choice.js";
import { UserError } from "../../errors.js";
import { connectDocker, type DockerConnection } from "../docker/client.js";
import { CommandFailedError, type Exec, type Spawn } from "../exec.js";
import { connectKube, ensureKubeReachable, readKubeConfig, type KubeAccess } from "../kube/client.js";
import { readAnnouncedRegistry } from "../kube/registry-hosting.js";
import type { CreatedClusters } from "./created-clusters.js";
import { markCreatedByMlkube } from "./creation-mark.js";
import { keepingCurrentContext } from "./current-context.js";
import { nodeIpEndpoint } from "./endpoint.js";
import { remoteEngineOf, tunnelReason } from "../../core/node-reachability.js";
import { ctrListCommand, ctrTargetDigest, matchLoadedImage } from "./loaded-image.js";
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

interface MinikubeSettings {
  registrySetting: string;
  /** process.platform: with the docker driver, the node's IP is reachable on Linux only (and not always there). */
  platform: NodeJS.Platform;
  /** WSL reports linux but cannot reach the node IP either. */
  isWsl: boolean;
}

interface ProfileInfo {
  name: string;
  status: string;
  driver: string | undefined;
  runtime: string | undefined;
}

/** minikube: a profile per cluster; the docker runtime lets mlkube build straight into the node. */
export class MinikubeProvider implements ClusterProvider {
  constructor(
    readonly choice: ProviderChoice,
    private readonly settings: MinikubeSettings,
    private readonly deps: { exec: Exec; spawn: Spawn; docker: DockerConnection; record: CreatedClusters },
  ) {}

  startFlags(): string[] {
    return ["start", "-p", this.choice.clusterName, "--driver=docker", "--container-runtime=docker"];
  }

  async plan(): Promise<UpPlan> {
    return {
      choice: this.choice,
      startFlags: this.startFlags(),
      steps: [
        `minikube ${this.startFlags().join(" ")}`,
        `images are built inside the node's engine (minikube docker-env -p ${this.choice.clusterName}); nothing is pushed or loaded`,
      ],
    };
  }

  async ensure(report: StepReporter, options: EnsureOptions = {}): Promise<ReadyCluster> {
    const profile = this.choice.clusterName;
    const existing = await this.profile();
    if (existing?.status === "Running" || existing?.status === "OK") {
      report({ title: `minikube profile '${profile}'`, status: "skipped", detail: "already running" });
    } else {
      await keepingCurrentContext(this.choice.context, report, () => this.start(existing === undefined, report, options.signal));
    }
    const kube = connectKube(this.choice.context, readKubeConfig());
    await ensureKubeReachable(kube);
    if (existing === undefined) await markCreatedByMlkube(kube, profile);
    return this.ready(kube, (await this.profile())?.runtime);
  }

  /** `minikube start`; a new profile is recorded as mlkube's before, so `mlkube down` may delete what a failed start left. */
  private async start(creating: boolean, report: StepReporter, signal: AbortSignal | undefined): Promise<void> {
    const profile = this.choice.clusterName;
    report({ title: `minikube profile '${profile}'`, status: "running", detail: creating ? "creating (this takes a few minutes)" : "starting" });
    if (creating) await this.deps.record.add("minikube", profile);
    try {
      await this.deps.exec("minikube", this.startFlags(), {
        signal,
        onLine: (line) => report({ title: `minikube profile '${profile}'`, status: "running", detail: line.trim() }),
      });
    } catch (error) {
      if (creating && !(await this.profile().catch(() => true))) await this.deps.record.remove("minikube", profile);
      throw error;
    }
    report({ title: `minikube profile '${profile}'`, status: "done" });
  }

  private async ready(kube: KubeAccess, runtime: string | undefined): Promise<ReadyCluster> {
    const decision = chooseDelivery({
      provider: "minikube",
      registrySetting: this.settings.registrySetting,
      announced: await readAnnouncedRegistry(kube),
      minikubeRuntime: runtime,
    });
    if ("error" in decision) throw new UserError("delivery", decision.error, { hint: decision.hint });
    // docker-env is applied to one Docker client inside mlkube: the user's shell and process.env stay as they were.
    const buildEngine = decision.path === "in-cluster-engine" ? connectDocker(await this.dockerEnv()) : this.deps.docker;
    return {
      choice: this.choice,
      kube,
      delivery: decision,
      buildEngine,
      // minikube on Linux reaches every NodePort at the node's IP; elsewhere through a tunnel per Service.
      mappedNodePorts: [],
      deliver: async (image, options = {}): Promise<DeliveryResult> => {
        if (decision.path === "in-cluster-engine") {
          return {
            path: "in-cluster-engine",
            podImage: podImageFor(decision, image.repository, image.tag),
            bytesMoved: 0,
            durationMs: 0,
            detail: "built inside minikube's engine",
          };
        }
        if (decision.path === "registry") {
          return deliverByPush(this.deps.docker.client, decision, image, options);
        }
        return this.load(image, options.signal);
      },
      endpoint: (service) => this.endpoint(kube, service),
      ...(decision.path === "in-cluster-engine" ? { provideBaseImages: (images, options) => this.provideBaseImages(buildEngine, images, options) } : {}),
    };
  }

  /**
   * minikube's engine starts empty: a base image that exists only in this machine's engine (built
   * or pulled here) fails its FROM there, and where the node cannot pull, nothing would tell the
   * user why. mlkube loads such an image once itself and says so: it is the command the user
   * would run, and asking would stop an unattended loop for no decision worth making.
   */
  private async provideBaseImages(
    engine: DockerConnection,
    images: readonly string[],
    options: { signal?: AbortSignal | undefined; progress?: ((line: string) => void) | undefined } = {},
  ): Promise<string[]> {
    const profile = this.choice.clusterName;
    const done: string[] = [];
    for (const image of images) {
      // Only a clear "absent there, present here" is acted on; anything else is the build's to report.
      if ((await hasImage(engine, image)) !== false || (await hasImage(this.deps.docker, image)) !== true) continue;
      const command = `minikube image load ${image} -p ${profile}`;
      options.progress?.(`minikube's engine lacks the base image ${image}, which this machine's engine has: loading it there once ('${command}')`);
      try {
        await this.deps.exec("minikube", ["image", "load", image, "-p", profile], { signal: options.signal });
      } catch (cause) {
        throw new UserError(
          "build",
          `minikube's engine (profile ${profile}) lacks the base image ${image}, which this machine's engine has, and loading it there failed.`,
          {
            details: cause instanceof CommandFailedError ? cause.details : [],
            hint: `Run '${command}', then save to rebuild.`,
            cause,
          },
        );
      }
      if ((await hasImage(engine, image)) === false) {
        throw new UserError("build", `minikube's engine (profile ${profile}) still lacks the base image ${image} after '${command}'.`, {
          hint: `Run '${command}' yourself and check 'minikube image ls -p ${profile}'.`,
        });
      }
      done.push(`loaded the base image ${image} into minikube's engine (it was only in this machine's engine)`);
    }
    return done;
  }

  /** `minikube docker-env --shell none`: KEY=VALUE lines for the node's own engine. */
  async dockerEnv(): Promise<Record<string, string>> {
    const { stdout } = await this.deps.exec("minikube", ["docker-env", "-p", this.choice.clusterName, "--shell", "none"]);
    const env: Record<string, string> = {};
    for (const line of stdout.split("\n")) {
      const match = /^([A-Z_]+)=(.*)$/.exec(line.trim());
      if (match?.[1] && match[2] !== undefined) env[match[1]] = match[2].replace(/^"(.*)"$/, "$1");
    }
    if (!env.DOCKER_HOST)
      throw new UserError("cluster", `'minikube docker-env -p ${this.choice.clusterName}' printed no DOCKER_HOST.`, {
        hint: "The profile may use a runtime other than docker; set cluster.registry or use kind.",
      });
    return env;
  }

  /**
   * `minikube image load` keeps an old image when the tag exists (minikube#11276): tags are unique,
   * and the ID is checked: the config digest `minikube image ls` reports, or, with Docker's
   * containerd image store on the host, the target digest the node's containerd records
   * (loaded-image.ts; the same `ctr images ls name==` minikube's own ImageExists runs).
   */
  private async load(image: BuiltImage, signal?: AbortSignal): Promise<DeliveryResult> {
    const started = performance.now();
    const profile = this.choice.clusterName;
    const reference = `${image.repository}:${image.tag}`;
    await this.deps.exec("minikube", ["image", "load", reference, "-p", profile], { signal });
    const { stdout } = await this.deps.exec("minikube", ["image", "ls", "--format", "json", "-p", profile]);
    const images = JSON.parse(stdout) as { id?: string; repoTags?: string[] }[];
    const listed = images.find((candidate) => candidate.repoTags?.some((tag) => tag === reference || tag.endsWith(`/${reference}`)))?.id;
    let matched = listed !== undefined && matchLoadedImage(image.imageId, { criImageId: listed }) !== undefined;
    if (listed && !matched) {
      const ctr = await this.deps.exec("minikube", ["ssh", "-p", profile, "--", "sudo", ...ctrListCommand(reference)]).catch(() => undefined);
      matched = matchLoadedImage(image.imageId, { containerdTarget: ctr && ctrTargetDigest(ctr.stdout, reference) }) !== undefined;
    }
    if (!matched) {
      const wanted = image.imageId.replace(/^sha256:/, "");
      throw new UserError(
        "delivery",
        `After 'minikube image load', profile ${profile} has ${listed ? `image ${listed.replace(/^sha256:/, "").slice(0, 12)}` : "no image"} for ${reference}, not ${wanted.slice(0, 12)}.`,
        {
          hint: `Run 'minikube image load ${reference} -p ${profile}' again.`,
        },
      );
    }
    const { Size } = await this.deps.docker.client.getImage(image.imageId).inspect();
    return { path: "load", podImage: reference, bytesMoved: Size, durationMs: performance.now() - started, detail: "whole image loaded into the node" };
  }

  /** Why the node IP is out of reach (core/node-reachability.ts), asked of the engine once. */
  private tunnelWhy: Promise<string | undefined> | undefined;

  private needsTunnel(): Promise<string | undefined> {
    this.tunnelWhy ??= (async () => {
      const info = (await this.deps.docker.client.info().catch(() => ({}))) as { OperatingSystem?: string; SecurityOptions?: string[] };
      return tunnelReason({
        platform: this.settings.platform,
        isWsl: this.settings.isWsl,
        engineOs: info.OperatingSystem,
        rootless: (info.SecurityOptions ?? []).some((option) => option.split(",").includes("name=rootless")),
        remoteEngine: remoteEngineOf(this.deps.docker.endpoint),
      });
    })();
    return this.tunnelWhy;
  }

  /** The node IP where it is reachable; otherwise a `minikube service --url` tunnel kept alive by mlkube. */
  async endpoint(kube: KubeAccess, service: ServiceRef): Promise<Endpoint> {
    const why = await this.needsTunnel();
    if (!why) {
      const { stdout } = await this.deps.exec("minikube", ["ip", "-p", this.choice.clusterName]);
      return nodeIpEndpoint(stdout.trim(), service.nodePort);
    }
    const index = await portIndex(kube, service);
    const tunnel = this.deps.spawn("minikube", ["service", service.name, "--url", "-n", service.namespace, "-p", this.choice.clusterName]);
    // The URL is not the node's, and it lives only as long as mlkube: the user is told why.
    const reason = `a 'minikube service ${service.name} --url' tunnel, open while mlkube runs: the node IP is out of reach (${why})`;
    try {
      return { url: await tunnel.line(index), via: "tunnel", reason, refresh: async () => undefined, close: () => tunnel.stop() };
    } catch (error) {
      await tunnel.stop();
      throw error;
    }
  }

  async status(): Promise<ClusterStatus> {
    const profile = await this.profile();
    let nodeIp: string | undefined;
    if (profile?.status === "Running" || profile?.status === "OK")
      nodeIp = (await this.deps.exec("minikube", ["ip", "-p", this.choice.clusterName])).stdout.trim();
    // Where the node IP is out of reach, no URL may be made of it ('mlkube status' makes one from a bare IP).
    const unreachable = nodeIp ? await this.needsTunnel() : undefined;
    return {
      choice: this.choice,
      exists: profile !== undefined,
      running: nodeIp !== undefined,
      nodes: nodeIp ? [`${this.choice.clusterName} (${nodeIp}${unreachable ? `, out of this machine's reach: ${unreachable}` : ""})`] : [],
      mappedNodePorts: [],
    };
  }

  async remove(_options: { registry: boolean }, report: StepReporter): Promise<void> {
    const profile = this.choice.clusterName;
    if (!(await this.profile())) {
      report({ title: `minikube profile '${profile}'`, status: "skipped", detail: "does not exist" });
      return;
    }
    report({ title: `minikube profile '${profile}'`, status: "running", detail: "deleting" });
    await keepingCurrentContext(this.choice.context, report, () => this.deps.exec("minikube", ["delete", "-p", profile]));
    report({ title: `minikube profile '${profile}'`, status: "done", detail: "deleted" });
  }

  /** From `minikube profile list -o json`; undefined when the profile does not exist. */
  async profile(): Promise<ProfileInfo | undefined> {
    return (await listMinikubeProfiles(this.deps.exec)).find((profile) => profile.name === this.choice.clusterName);
  }
}

export async function listMinikubeProfiles(exec: Exec): Promise<ProfileInfo[]> {
  let stdout: string;
  try {
    ({ stdout } = await exec("minikube", ["profile", "list", "-o", "json"]));
  } catch (error) {
    // With no profile at all minikube exits non-zero: that simply means none exist.
    if ((error as { kind?: string }).kind === "command-failed") return [];
    throw error;
  }
  const parsed = JSON.parse(stdout) as {
    valid?: { Name?: string; Status?: string; Config?: { Driver?: string; KubernetesConfig?: { ContainerRuntime?: string } } }[];
  };
  return (parsed.valid ?? []).map((profile) => ({
    name: profile.Name ?? "",
    status: profile.Status ?? "Unknown",
    driver: profile.Config?.Driver,
    runtime: profile.Config?.KubernetesConfig?.ContainerRuntime,
  }));
}

/**
 * Which of the URLs `minikube service --url` prints is the model's: it prints one per Service port,
 * in spec.ports order (tunnel/kic: one `ssh -L` free local port per port; cmd/service.go: one URL a
 * line), so the index of the port whose nodePort is the model's.
 */
async function portIndex(kube: KubeAccess, service: ServiceRef): Promise<number> {
  const ports = (await kube.core.readNamespacedService({ name: service.name, namespace: service.namespace })).spec?.ports ?? [];
  const index = ports.findIndex((port) => port.nodePort === service.nodePort);
  if (index >= 0) return index;
  const listed = ports.map((port) => `${port.name ?? port.port}${port.nodePort ? ` (nodePort ${port.nodePort})` : ""}`).join(", ") || "none";
  throw new UserError(
    "cluster",
    `Service ${service.namespace}/${service.name} has no port with nodePort ${service.nodePort} (its ports: ${listed}), so mlkube cannot tell which of the URLs 'minikube service --url' prints is the model's.`,
    {
      hint: `Give the model's port in the Service nodePort: ${service.nodePort}, or set service.nodePort in mlkube.yaml to the nodePort it has.`,
    },
  );
}

/** Whether ENGINE holds IMAGE; undefined when the engine does not say (unreachable, refused). */
async function hasImage(engine: DockerConnection, image: string): Promise<boolean | undefined> {
  try {
    await engine.client.getImage(image).inspect();
    return true;
  } catch (error) {
    return (error as { statusCode?: number }).statusCode === 404 ? false : undefined;
  }
}
