/**
 * Image pulls as a node's runtime does them.
 * - kind (containerd): the registry configuration mlkube writes into the node,
 *   /etc/containerd/certs.d/<host>/hosts.toml, is read back on every pull and followed, from the
 *   directories the node's containerd config names (containerd-config.ts: none on kind node
 *   images before v0.27 unless the cluster was created with kind's config patch): for
 *   `[host."http://kind-registry:5000"]` the inner engine pulls `kind-registry:5000/<repo>:<tag>`
 *   and tags it with the requested name, as containerd stores a mirrored image. Without a hosts.toml
 *   the registry host itself is contacted from inside the node, so `localhost:5001/...` fails there
 *   exactly as on kind.
 * - minikube (docker runtime): the node's dockerd pulls the reference itself.
 */
import type Dockerode from "dockerode";
import type { ContainerSpec, PullResult } from "../contract.js";
import { execIn, followProgress, isNotFound } from "../docker.js";
import { containerdHostsDirs } from "./containerd-config.js";
import { formatReference, parseImageReference, resolveRegistryHosts, type RegistryHost } from "./registry-hosts.js";

export type PullMode = "containerd-hosts" | "dockerd";

export class ImagePuller {
  /** Registries the inner engine already treats as plain HTTP (insecure-registries in daemon.json). */
  private readonly insecure = new Set<string>();
  /** Images pulled by digest cannot be tagged; containers find them by ID. */
  readonly pulledByDigest = new Map<string, string>();
  /**
   * The kubelet pulls one image at a time per node by default (KubeletConfiguration
   * serializeImagePulls, default true: kubernetes pkg/kubelet/images/puller.go serialImagePuller,
   * and kind leaves the default). Concurrent pulls of one image here would also race on the mirror
   * tag that pullFrom removes.
   */
  private pullQueue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly host: Dockerode,
    private readonly engine: Dockerode,
    private readonly nodeContainer: string,
    private readonly mode: PullMode,
  ) {}

  async pull(image: string, policy: ContainerSpec["imagePullPolicy"], signal?: AbortSignal): Promise<PullResult> {
    const present = await this.presentImageId(image);
    if (policy === "Never") {
      return present
        ? { ok: true, imageId: present }
        : { ok: false, reason: "ErrImageNeverPull", message: `Container image "${image}" is not present with pull policy of Never` };
    }
    if (policy === "IfNotPresent" && present) return { ok: true, imageId: present };

    const ref = parseImageReference(image);
    const shown = formatReference(ref);
    const endpoints = this.mode === "dockerd" ? [undefined] : resolveRegistryHosts(ref.domain, await this.readHostsToml(ref.domain));
    let lastError = "no registry host to pull from";
    for (const endpoint of endpoints) {
      if (endpoint && !endpoint.capabilities.includes(ref.digest ? "pull" : "resolve")) continue;
      try {
        const imageId = await this.serialized(() => this.pullFrom(image, endpoint, signal));
        return { ok: true, imageId };
      } catch (error) {
        lastError = describePullError(error, shown);
        if (signal?.aborted) break;
      }
    }
    return { ok: false, reason: "ErrImagePull", message: `failed to pull and unpack image "${shown}": failed to resolve reference "${shown}": ${lastError}` };
  }

  private serialized<T>(pull: () => Promise<T>): Promise<T> {
    const next = this.pullQueue.then(pull, pull);
    this.pullQueue = next.catch(() => undefined);
    return next;
  }

  async presentImageId(image: string): Promise<string | undefined> {
    try {
      return (await this.engine.getImage(image).inspect()).Id;
    } catch (error) {
      if (!isNotFound(error)) throw error;
      return this.pulledByDigest.get(image);
    }
  }

  /** The hosts.toml containerd would use for DOMAIN: only from the directories its config_path names. */
  private async readHostsToml(domain: string): Promise<string | undefined> {
    const config = await execIn(this.host, this.nodeContainer, ["cat", "/etc/containerd/config.toml"]);
    // The node image holds current kind's config; `kind create` rewrites it for the node image asked for.
    const hostsDirs = config.exitCode === 0 ? containerdHostsDirs(config.stdout) : [];
    for (const hostsDir of hostsDirs) {
      for (const dir of [domain, "_default"]) {
        const result = await execIn(this.host, this.nodeContainer, ["cat", `${hostsDir}/${dir}/hosts.toml`]);
        if (result.exitCode === 0) return result.stdout;
      }
    }
    return undefined;
  }

  private async pullFrom(image: string, endpoint: RegistryHost | undefined, signal?: AbortSignal): Promise<string> {
    const ref = parseImageReference(image);
    // The default server of docker.io is registry-1.docker.io, which the engine knows as docker.io.
    const direct = !endpoint || endpoint.host === ref.domain || (ref.domain === "docker.io" && endpoint.host === "registry-1.docker.io");
    const source = direct ? image : formatReference(ref, endpoint.host);
    if (endpoint && (endpoint.scheme === "http" || endpoint.skipVerify)) await this.allowInsecure(endpoint.host);

    const at = source.lastIndexOf("@");
    const colon = source.lastIndexOf(":");
    const options =
      at >= 0
        ? { fromImage: source }
        : colon > source.lastIndexOf("/")
          ? { fromImage: source.slice(0, colon), tag: source.slice(colon + 1) }
          : { fromImage: source, tag: "latest" };
    const stream = await this.engine.createImage({ ...options, abortSignal: signal });
    await followProgress(this.engine, stream);
    const pulled = await this.engine.getImage(source).inspect();

    if (source !== image) {
      if (ref.digest) {
        this.pulledByDigest.set(image, pulled.Id);
      } else {
        const tagAt = image.lastIndexOf(":");
        await this.engine.getImage(pulled.Id).tag({ repo: image.slice(0, tagAt > image.lastIndexOf("/") ? tagAt : image.length), tag: ref.tag });
        // containerd keeps a mirrored image under the requested name only.
        await this.engine
          .getImage(source)
          .remove({ noprune: true })
          .catch(() => undefined);
      }
    }
    return pulled.Id;
  }

  /** Adds a registry to the inner engine's insecure-registries and reloads it (SIGHUP, no restart). */
  private async allowInsecure(registry: string): Promise<void> {
    if (this.insecure.has(registry)) return;
    const info = (await this.engine.info()) as { RegistryConfig?: { IndexConfigs?: Record<string, { Secure?: boolean }> } };
    const known = info.RegistryConfig?.IndexConfigs ?? {};
    if (known[registry]?.Secure === false) {
      this.insecure.add(registry);
      return;
    }
    const current = Object.entries(known)
      .filter(([, config]) => config.Secure === false)
      .map(([name]) => name)
      .filter((name) => name !== "docker.io");
    const registries = [...new Set([...current, ...this.insecure, registry])];
    const script = 'printf "%s" "$1" > /etc/docker/daemon.json && pkill -HUP -x dockerd';
    await execIn(this.host, this.nodeContainer, ["sh", "-c", script, "sh", JSON.stringify({ "insecure-registries": registries })]);
    for (let attempt = 0; attempt < 50; attempt += 1) {
      const now = (await this.engine.info()) as typeof info;
      if (now.RegistryConfig?.IndexConfigs?.[registry]?.Secure === false) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    this.insecure.add(registry);
  }
}

/** Docker's wording turned into containerd's where kubectl users would see a difference. */
function describePullError(error: unknown, shown: string): string {
  const message = (error as { json?: { message?: string } }).json?.message ?? (error as Error).message ?? String(error);
  if (/manifest unknown|not found: manifest|repository .* not found|does not exist/i.test(message)) return `${shown}: not found`;
  return message.replace(/^\(HTTP code \d+\) [a-z ]+ - /, "").trim();
}
