/**
 * The container runtime of one simulated node (contract.ts `NodeRuntime`): pods are real containers
 * in the Docker engine inside the node container. Each pod gets a sandbox container (the pause
 * image) that owns the pod's network namespace and IP on the node's pod bridge; the pod's containers
 * join it, as with dockershim, so all containers of a pod share one IP and a restarted container
 * keeps it. Container names follow dockershim's `k8s_<container>_<pod>_<namespace>_<uid>_<n>`.
 */
import { createHash } from "node:crypto";
import { Writable, type Duplex, type Readable } from "node:stream";
import type Dockerode from "dockerode";
import type { ContainerInfo, ContainerInspectInfo } from "dockerode";
import type { ContainerSpec, ContainerState, ExecStreams, LogOptions, NodePortRule, NodeRuntime, PullResult, SimNode } from "../contract.js";
import { execIn, isNotFound } from "../docker.js";
import { demuxedLogs, readAll } from "./logs.js";
import { renderNodePortRules } from "./nodeports.js";
import { httpGet, tcpConnect } from "./probe.js";
import { ImagePuller, type PullMode } from "./pull.js";

const PAUSE_IMAGE = "registry.k8s.io/pause:3.10";
const ID_LABEL = "io.mlkube.sim.container-id";
const POD_UID_LABEL = "io.kubernetes.pod.uid";
/**
 * The contract has no "pod gone" call: a sandbox is removed once its pod has had no containers for
 * this long. The kubelet keeps a pod's last dead container until the next attempt starts, so
 * restarts never empty a sandbox and the pod keeps its IP, as in Kubernetes.
 */
const SANDBOX_GRACE_MS = 30_000;
/** How runc's error starts when Docker hands it back as a failed exec's output. */
const OCI_START_FAILURE = "OCI runtime exec failed";
/** How much of a dead container's stderr becomes lastState.terminated.message (the kubelet's cap). */
const MESSAGE_BYTES = 2048;

export interface DockerNodeRuntimeOptions {
  node: SimNode;
  /** The node container on the host engine: `docker exec` target for hosts.toml and iptables. */
  nodeContainer: string;
  host: Dockerode;
  /** The engine inside the node. */
  engine: Dockerode;
  pullMode: PullMode;
}

export class DockerNodeRuntime implements NodeRuntime {
  readonly node: SimNode;
  private readonly puller: ImagePuller;
  private readonly names = new Map<string, string>();
  private readonly sandboxes = new Map<string, Promise<{ id: string; ip: string }>>();
  private readonly sandboxTimers = new Map<string, NodeJS.Timeout>();
  private readonly messages = new Map<string, string>();
  private nodePortQueue: Promise<void> = Promise.resolve();
  private appliedRules: string | undefined;

  constructor(private readonly options: DockerNodeRuntimeOptions) {
    this.node = options.node;
    this.puller = new ImagePuller(options.host, options.engine, options.nodeContainer, options.pullMode);
  }

  private get engine(): Dockerode {
    return this.options.engine;
  }

  pullImage(image: string, policy: ContainerSpec["imagePullPolicy"], signal?: AbortSignal): Promise<PullResult> {
    return this.puller.pull(image, policy, signal);
  }

  async startContainer(spec: ContainerSpec): Promise<ContainerState> {
    const name = containerName(spec);
    this.names.set(spec.id, name);
    const existing = await this.inspectByName(name);
    if (existing?.State.Running) return this.toState(spec.id, existing);
    if (existing) await this.engine.getContainer(name).remove({ force: true });

    const imageId = await this.puller.presentImageId(spec.image);
    if (!imageId) throw new Error(`image "${spec.image}" is not present on node ${this.node.name}: pull it first`);
    const image = await this.engine.getImage(imageId).inspect();
    const user = spec.runAsUser !== undefined ? String(spec.runAsUser) : image.Config.User || "";
    if (spec.runAsNonRoot) verifyNonRoot(user, spec.image);

    this.cancelSandboxRemoval(spec.podUid);
    const sandbox = await this.ensureSandbox(spec);
    // Kubernetes: `command` replaces ENTRYPOINT and drops the image's CMD; `args` replaces CMD.
    const entrypoint = spec.command ?? image.Config.Entrypoint ?? [];
    const cmd = spec.args ?? (spec.command ? [] : (image.Config.Cmd ?? []));
    const memory = spec.memoryLimitBytes;
    await this.engine.createContainer({
      name,
      Image: imageId,
      Entrypoint: entrypoint,
      Cmd: cmd,
      Env: spec.env.map((variable) => `${variable.name}=${variable.value}`),
      WorkingDir: spec.workingDir ?? "",
      User: user,
      Labels: {
        [ID_LABEL]: spec.id,
        [POD_UID_LABEL]: spec.podUid,
        "io.kubernetes.pod.name": spec.podName,
        "io.kubernetes.pod.namespace": spec.podNamespace,
        "io.kubernetes.container.name": spec.containerName,
      },
      HostConfig: {
        NetworkMode: `container:${sandbox.id}`,
        // No swap, as the kubelet runs containers: going over the limit is an OOM kill.
        Memory: memory,
        MemorySwap: memory,
        CpuPeriod: spec.cpuLimitMillis ? 100_000 : undefined,
        CpuQuota: spec.cpuLimitMillis ? Math.max(1000, spec.cpuLimitMillis * 100) : undefined,
        RestartPolicy: { Name: "no" },
        LogConfig: { Type: "json-file", Config: {} },
      },
    });
    try {
      await this.engine.getContainer(name).start();
    } catch {
      // Docker records the reason (e.g. executable not found) in State.Error; toState reports it as
      // a terminated container with exit code 128, as containerd's StartError does.
    }
    const state = await this.inspectContainer(spec.id);
    if (!state) throw new Error(`container ${name} vanished right after it was created`);
    return state;
  }

  async inspectContainer(id: string): Promise<ContainerState | undefined> {
    const name = await this.resolveName(id);
    if (!name) return undefined;
    const info = await this.inspectByName(name);
    return info ? this.toState(id, info) : undefined;
  }

  async waitContainer(id: string): Promise<ContainerState> {
    const name = await this.resolveName(id);
    if (!name) throw new Error(`no container ${id} on node ${this.node.name}`);
    await this.engine
      .getContainer(name)
      .wait({ condition: "not-running" })
      .catch((error: unknown) => {
        if (!isNotFound(error)) throw error;
      });
    const state = await this.inspectContainer(id);
    if (!state) throw new Error(`container ${id} was removed while waiting for it`);
    return state;
  }

  async stopContainer(id: string, gracePeriodSeconds: number): Promise<void> {
    const name = await this.resolveName(id);
    if (!name) return;
    // SIGTERM, then SIGKILL after the grace period: what the kubelet asks of containerd.
    await this.engine
      .getContainer(name)
      .stop({ t: Math.max(0, Math.round(gracePeriodSeconds)) })
      .catch((error: { statusCode?: number }) => {
        if (error.statusCode !== 304 && error.statusCode !== 404) throw error;
      });
  }

  async removeContainer(id: string): Promise<void> {
    const name = await this.resolveName(id);
    if (!name) return;
    const info = await this.inspectByName(name);
    await this.engine
      .getContainer(name)
      .remove({ force: true })
      .catch((error: unknown) => {
        if (!isNotFound(error)) throw error;
      });
    this.names.delete(id);
    this.messages.delete(id);
    const podUid = info?.Config.Labels?.[POD_UID_LABEL];
    if (podUid) await this.scheduleSandboxRemoval(podUid);
  }

  async containerLogs(id: string, options: LogOptions): Promise<Readable> {
    const name = await this.resolveName(id);
    if (!name) throw new Error(`no container ${id} on node ${this.node.name}`);
    const common = {
      stdout: true,
      stderr: true,
      timestamps: options.timestamps,
      ...(options.tailLines !== undefined ? { tail: options.tailLines } : {}),
      since: options.sinceSeconds !== undefined ? Math.floor(Date.now() / 1000) - options.sinceSeconds : 0,
    };
    const container = this.engine.getContainer(name);
    const raw = options.follow ? await container.logs({ ...common, follow: true }) : await container.logs({ ...common, follow: false });
    return demuxedLogs(raw as Readable | Buffer);
  }

  httpProbe(ip: string, port: number, path: string, timeoutMs: number): Promise<{ ok: boolean; status?: number; error?: string }> {
    return httpGet(ip, port, path, timeoutMs);
  }

  tcpProbe(ip: string, port: number, timeoutMs: number): Promise<{ ok: boolean; error?: string }> {
    return tcpConnect(ip, port, timeoutMs);
  }

  syncNodePorts(rules: NodePortRule[]): Promise<void> {
    // Serialised and de-duplicated: the control plane may sync often and from several places.
    const next = this.nodePortQueue.then(async () => {
      const text = renderNodePortRules(rules);
      if (text === this.appliedRules) return;
      const result = await execIn(this.options.host, this.options.nodeContainer, ["sh", "-c", 'printf "%s" "$1" | iptables-restore --noflush', "sh", text]);
      if (result.exitCode !== 0) throw new Error(`iptables-restore on ${this.options.nodeContainer} failed: ${result.stderr.trim()}`);
      this.appliedRules = text;
    });
    this.nodePortQueue = next.catch(() => undefined);
    return next;
  }

  async execInContainer(id: string, command: string[], streams: ExecStreams): Promise<number> {
    const name = await this.resolveName(id);
    if (!name) throw new Error(`no container ${id} on node ${this.node.name}`);
    // `docker exec` on the node's engine: a process in the container's namespaces and cgroup, as
    // containerd starts one for the kubelet. Non-TTY, so stdout and stderr come multiplexed.
    const exec = await this.engine
      .getContainer(name)
      .exec({ Cmd: command, AttachStdin: streams.stdin !== undefined, AttachStdout: true, AttachStderr: true, Tty: false });
    const socket = (await exec.start({ hijack: true, stdin: streams.stdin !== undefined })) as Duplex;
    // Docker reports a process that cannot start (no such executable) as exit code 126/127 with
    // runc's error as the first stdout frame; containerd fails the exec instead, and the kubelet
    // turns that into an InternalError status. So a first frame that looks like it is held back.
    let held: Buffer | undefined;
    let delivered = false;
    const stdout = (chunk: Buffer): void => {
      if (!delivered && held === undefined && chunk.toString("utf8").startsWith(OCI_START_FAILURE)) held = chunk;
      else streams.stdout?.(chunk);
      delivered = true;
    };
    const sink = (deliver: ((chunk: Buffer) => void) | undefined): Writable =>
      new Writable({ write: (chunk: Buffer, _encoding, done) => (deliver?.(chunk), done()) });
    this.engine.modem.demuxStream(socket, sink(stdout), sink(streams.stderr));
    // The end of stdin is a half-close of the hijacked connection: the engine closes the process's stdin.
    if (streams.stdin) streams.stdin.pipe(socket);
    const abandon = (): void => void socket.destroy();
    streams.signal.addEventListener("abort", abandon, { once: true });
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once("end", resolve);
        socket.once("close", resolve);
        socket.once("error", (err) => (streams.signal.aborted ? resolve() : reject(err)));
      });
    } finally {
      streams.signal.removeEventListener("abort", abandon);
    }
    const info = await exec.inspect();
    const exitCode = info.ExitCode ?? 255;
    if (held && (exitCode === 126 || exitCode === 127)) {
      // containerd's words (pkg/cri/server: Exec, execInternal) around runc's.
      throw new Error(`failed to exec in container: failed to start exec "${info.ID}": ${held.toString("utf8").trim()}`);
    }
    if (held) streams.stdout?.(held);
    return exitCode;
  }

  /** Stops the sandbox timers so a daemon can exit promptly. */
  close(): void {
    for (const timer of this.sandboxTimers.values()) clearTimeout(timer);
    this.sandboxTimers.clear();
  }

  private async toState(id: string, info: ContainerInspectInfo): Promise<ContainerState> {
    const state = info.State;
    const startError = !state.Running && state.Error ? state.Error : undefined;
    const running = state.Running || state.Paused || state.Restarting;
    const status: ContainerState["status"] = running ? "running" : state.Status === "created" && !startError ? "created" : "exited";
    const podUid = info.Config.Labels?.[POD_UID_LABEL];
    const ip = podUid ? await this.sandboxIP(podUid) : undefined;
    return {
      status,
      ip,
      startedAt: realTime(state.StartedAt),
      finishedAt: status === "exited" ? (realTime(state.FinishedAt) ?? new Date().toISOString()) : undefined,
      exitCode: status === "exited" ? (startError ? 128 : state.ExitCode) : undefined,
      oomKilled: status === "exited" ? state.OOMKilled : undefined,
      message: status === "exited" ? (startError ?? (await this.lastStderr(id, info.Id))) : undefined,
      imageId: info.Image,
    };
  }

  private async lastStderr(id: string, containerId: string): Promise<string | undefined> {
    const cached = this.messages.get(id);
    if (cached !== undefined) return cached || undefined;
    const raw = await this.engine.getContainer(containerId).logs({ stdout: false, stderr: true, follow: false, tail: 80 });
    const text = (await readAll(demuxedLogs(raw as unknown as Buffer, "stderr"))).toString("utf8");
    const message = text.length > MESSAGE_BYTES ? text.slice(-MESSAGE_BYTES) : text;
    this.messages.set(id, message);
    return message || undefined;
  }

  private async resolveName(id: string): Promise<string | undefined> {
    const known = this.names.get(id);
    if (known) return known;
    // After a daemon restart the map is empty: the label on the container still says which it is.
    const found: ContainerInfo[] = await this.engine.listContainers({ all: true, filters: JSON.stringify({ label: [`${ID_LABEL}=${id}`] }) });
    const name = found[0]?.Names[0]?.replace(/^\//, "");
    if (name) this.names.set(id, name);
    return name;
  }

  private async inspectByName(name: string): Promise<ContainerInspectInfo | undefined> {
    try {
      return await this.engine.getContainer(name).inspect();
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  private ensureSandbox(spec: ContainerSpec): Promise<{ id: string; ip: string }> {
    const pending = this.sandboxes.get(spec.podUid);
    const attempt = (pending ?? Promise.reject(new Error("none"))).then(
      async (sandbox) => ((await this.inspectByName(sandbox.id))?.State.Running ? sandbox : this.createSandbox(spec)),
      () => this.createSandbox(spec),
    );
    this.sandboxes.set(spec.podUid, attempt);
    attempt.catch(() => this.sandboxes.delete(spec.podUid));
    return attempt;
  }

  private async createSandbox(spec: ContainerSpec): Promise<{ id: string; ip: string }> {
    const name = `k8s_POD_${spec.podName}_${spec.podNamespace}_${spec.podUid}_0`;
    const existing = await this.inspectByName(name);
    if (existing?.State.Running) return { id: existing.Id, ip: podIP(existing) };
    if (existing) await this.engine.getContainer(name).remove({ force: true });
    const container = await this.engine.createContainer({
      name,
      Image: PAUSE_IMAGE,
      Hostname: spec.podName,
      Labels: {
        [POD_UID_LABEL]: spec.podUid,
        "io.kubernetes.pod.name": spec.podName,
        "io.kubernetes.pod.namespace": spec.podNamespace,
        "io.kubernetes.docker.type": "podsandbox",
      },
      HostConfig: { NetworkMode: "bridge", RestartPolicy: { Name: "no" } },
    });
    await container.start();
    const info = await container.inspect();
    return { id: info.Id, ip: podIP(info) };
  }

  private async sandboxIP(podUid: string): Promise<string | undefined> {
    const sandbox = await this.sandboxes.get(podUid)?.catch(() => undefined);
    if (sandbox) return sandbox.ip;
    const found = await this.engine.listContainers({
      filters: JSON.stringify({ label: [`${POD_UID_LABEL}=${podUid}`, "io.kubernetes.docker.type=podsandbox"] }),
    });
    const info = found[0] ? await this.inspectByName(found[0].Id) : undefined;
    return info ? podIP(info) || undefined : undefined;
  }

  private cancelSandboxRemoval(podUid: string): void {
    const timer = this.sandboxTimers.get(podUid);
    if (timer) clearTimeout(timer);
    this.sandboxTimers.delete(podUid);
  }

  private async scheduleSandboxRemoval(podUid: string): Promise<void> {
    this.cancelSandboxRemoval(podUid);
    const timer = setTimeout(() => {
      this.sandboxTimers.delete(podUid);
      void this.removeSandboxIfUnused(podUid).catch(() => undefined);
    }, SANDBOX_GRACE_MS);
    timer.unref();
    this.sandboxTimers.set(podUid, timer);
  }

  private async removeSandboxIfUnused(podUid: string): Promise<void> {
    const members = await this.engine.listContainers({ all: true, filters: JSON.stringify({ label: [`${POD_UID_LABEL}=${podUid}`] }) });
    if (members.some((member) => member.Labels["io.kubernetes.docker.type"] !== "podsandbox")) return;
    for (const member of members)
      await this.engine
        .getContainer(member.Id)
        .remove({ force: true })
        .catch(() => undefined);
    this.sandboxes.delete(podUid);
  }
}

function containerName(spec: ContainerSpec): string {
  const attempt = createHash("sha256").update(spec.id).digest("hex").slice(0, 8);
  return `k8s_${spec.containerName}_${spec.podName}_${spec.podNamespace}_${spec.podUid}_${attempt}`;
}

/** The sandbox sits on the inner engine's default bridge: the node's pod subnet. */
function podIP(info: ContainerInspectInfo): string {
  return info.NetworkSettings.Networks.bridge?.IPAddress ?? "";
}

function realTime(value: string | undefined): string | undefined {
  return value && !value.startsWith("0001-01-01") ? value : undefined;
}

/** The kubelet's runAsNonRoot check, with its messages (it cannot verify a non-numeric user). */
function verifyNonRoot(user: string, image: string): void {
  const name = user.split(":")[0] ?? "";
  if (name === "" || name === "root" || name === "0") throw new Error("container has runAsNonRoot and image will run as root");
  if (!/^\d+$/.test(name))
    throw new Error(`container has runAsNonRoot and image has non-numeric user (${name}), cannot verify user is non-root (pod image ${image})`);
}
