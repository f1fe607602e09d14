/**
 * A hand-written NodeRuntime for fast tests of the control plane: containers are in-memory
 * records whose life is scripted (run until stopped, exit after a while with a code, get
 * OOM-killed when their memory use exceeds the limit, fail to start), HTTP probes are answered
 * from the script, images are pulled from an in-memory "registry". It records every NodePort
 * sync so tests can assert on what kube-proxy would have been told. An exec in a container runs
 * the command as a real process on this machine, in a scratch directory of its own per container
 * (its working directory; nothing else is isolated), so exec tests get real `cat`, `tar` and exit
 * codes without a container engine.
 */
import { spawn } from "node:child_process";
import { EventEmitter } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { constants, tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough, Readable } from "node:stream";
import type { ContainerSpec, ContainerState, ExecStreams, LogOptions, NodePortRule, NodeRuntime, PullResult, SimNode } from "../contract.js";

export type HttpAnswer = number | "refuse" | "timeout";

export interface FakeBehavior {
  /** The process exits by itself this long after starting (otherwise it runs until stopped). */
  exitAfterMs?: number;
  exitCode?: number;
  /** Memory the process grows to; above ContainerSpec.memoryLimitBytes it is OOM-killed. */
  memoryBytes?: number;
  /** Lines written at start (stdout and stderr interleaved). */
  logs?: string[];
  /** Last stderr lines, reported as terminated.message. */
  message?: string;
  /** What an HTTP GET gets; default 200. */
  http?: (path: string, port: number) => HttpAnswer;
  /** Exit code when stopped (137 = killed; 0 = handled SIGTERM). */
  stopExitCode?: number;
  /** How long the process takes to shut down when stopped (capped by the grace period). */
  stopDelayMs?: number;
  /** startContainer rejects with this message (a bad entrypoint, say). */
  startError?: string;
}

export type Script = (spec: ContainerSpec, attempt: number) => FakeBehavior;

interface FakeContainer {
  spec: ContainerSpec;
  state: ContainerState;
  lines: { at: Date; text: string }[];
  output: EventEmitter;
  exited: Promise<ContainerState>;
  exit: (code: number, opts?: { oom?: boolean; message?: string }) => void;
  timers: NodeJS.Timeout[];
  behavior: FakeBehavior;
  /** The working directory of commands exec'd in this container; created on the first exec. */
  scratch?: string;
}

function iso(d = new Date()): string {
  return d.toISOString().replace(/\.\d+Z$/, "Z");
}

export function attemptOf(id: string): number {
  return Number(/_(\d+)$/.exec(id)?.[1] ?? 0);
}

export class FakeRuntime implements NodeRuntime {
  readonly node: SimNode;
  /** Images present on the node: name -> image id. */
  readonly images = new Map<string, string>();
  /** Images the registry can serve. */
  readonly registry = new Set<string>();
  readonly containers = new Map<string, FakeContainer>();
  readonly nodePortSyncs: NodePortRule[][] = [];
  readonly pulls: { image: string; policy: string }[] = [];
  readonly stopped: { id: string; grace: number }[] = [];
  readonly removed: string[] = [];
  script: Script = () => ({});
  private readonly podIPs = new Map<string, string>();
  private nextIP = 2;

  constructor(node: Partial<SimNode> & { name: string }, options: { images?: string[]; registry?: string[] } = {}) {
    this.node = {
      internalIP: "172.18.0.2",
      architecture: "linux/amd64",
      allocatable: { cpu: "4", memory: "8Gi", pods: "110" },
      ...node,
    };
    for (const image of options.images ?? []) this.images.set(image, `sha256:${Buffer.from(image).toString("hex").padEnd(64, "0").slice(0, 64)}`);
    for (const image of options.registry ?? []) this.registry.add(image);
  }

  async pullImage(image: string, policy: ContainerSpec["imagePullPolicy"]): Promise<PullResult> {
    this.pulls.push({ image, policy });
    const present = this.images.get(image);
    if (policy !== "Always" && present) return { ok: true, imageId: present };
    if (policy === "Never") return { ok: false, reason: "ErrImageNeverPull", message: `Container image "${image}" is not present with pull policy of Never` };
    if (!this.registry.has(image)) {
      const ref = image.includes("/") ? image : `docker.io/library/${image}`;
      return {
        ok: false,
        reason: "ErrImagePull",
        message: `rpc error: code = NotFound desc = failed to pull and unpack image "${ref}": failed to resolve reference "${ref}": ${ref}: not found`,
      };
    }
    const id = `sha256:${Buffer.from(image).toString("hex").padEnd(64, "0").slice(0, 64)}`;
    this.images.set(image, id);
    return { ok: true, imageId: id };
  }

  async startContainer(spec: ContainerSpec): Promise<ContainerState> {
    const behavior = this.script(spec, attemptOf(spec.id));
    if (behavior.startError) throw new Error(behavior.startError);
    let ip = this.podIPs.get(spec.podUid);
    if (!ip) {
      ip = `10.244.0.${this.nextIP++}`;
      this.podIPs.set(spec.podUid, ip);
    }
    let resolveExit: (s: ContainerState) => void = () => undefined;
    const exited = new Promise<ContainerState>((resolve) => (resolveExit = resolve));
    const container: FakeContainer = {
      spec,
      state: { status: "running", ip, startedAt: iso(), imageId: this.images.get(spec.image) },
      lines: [],
      output: new EventEmitter(),
      exited,
      timers: [],
      behavior,
      exit: (code, opts = {}) => {
        if (container.state.status === "exited") return;
        for (const t of container.timers) clearTimeout(t);
        container.state = {
          ...container.state,
          status: "exited",
          exitCode: code,
          oomKilled: opts.oom ?? false,
          finishedAt: iso(),
          message: opts.message ?? behavior.message,
        };
        container.output.emit("end");
        resolveExit(container.state);
      },
    };
    this.containers.set(spec.id, container);
    for (const text of behavior.logs ?? []) this.write(spec.id, text);
    if (behavior.memoryBytes !== undefined && spec.memoryLimitBytes !== undefined && behavior.memoryBytes > spec.memoryLimitBytes) {
      container.timers.push(setTimeout(() => container.exit(137, { oom: true }), 20));
    } else if (behavior.exitAfterMs !== undefined) {
      container.timers.push(setTimeout(() => container.exit(behavior.exitCode ?? 0), behavior.exitAfterMs));
    }
    return { ...container.state };
  }

  /** Appends a log line to a running container (tests use it to drive `logs --follow`). */
  write(id: string, text: string): void {
    const c = this.containers.get(id);
    if (!c) throw new Error(`no container ${id}`);
    const line = { at: new Date(), text };
    c.lines.push(line);
    c.output.emit("line", line);
  }

  /** Ends a container as if its process exited. */
  crash(id: string, exitCode: number, options: { oom?: boolean; message?: string } = {}): void {
    this.containers.get(id)?.exit(exitCode, options);
  }

  /** The live container of a pod's container, by pod name prefix and container name. */
  find(podName: string, containerName: string): FakeContainer | undefined {
    return [...this.containers.values()]
      .filter((c) => c.spec.podName === podName && c.spec.containerName === containerName && c.state.status === "running")
      .pop();
  }

  async inspectContainer(id: string): Promise<ContainerState | undefined> {
    const c = this.containers.get(id);
    return c ? { ...c.state } : undefined;
  }

  async waitContainer(id: string): Promise<ContainerState> {
    const c = this.containers.get(id);
    if (!c) throw new Error(`no such container: ${id}`);
    return c.exited;
  }

  async stopContainer(id: string, gracePeriodSeconds: number): Promise<void> {
    this.stopped.push({ id, grace: gracePeriodSeconds });
    const c = this.containers.get(id);
    if (!c) return;
    const delay = Math.min(c.behavior.stopDelayMs ?? 0, gracePeriodSeconds * 1000);
    if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
    c.exit(c.behavior.stopExitCode ?? 137);
  }

  async removeContainer(id: string): Promise<void> {
    this.removed.push(id);
    const c = this.containers.get(id);
    if (c && c.state.status !== "exited") c.exit(137);
    if (c?.scratch) rmSync(c.scratch, { recursive: true, force: true });
    this.containers.delete(id);
  }

  async containerLogs(id: string, options: LogOptions): Promise<Readable> {
    const c = this.containers.get(id);
    if (!c) throw new Error(`no such container: ${id}`);
    const since = options.sinceSeconds !== undefined ? Date.now() - options.sinceSeconds * 1000 : undefined;
    const render = (l: { at: Date; text: string }): string => `${options.timestamps ? `${l.at.toISOString()} ` : ""}${l.text}\n`;
    let lines = c.lines.filter((l) => since === undefined || l.at.getTime() >= since);
    if (options.tailLines !== undefined) lines = lines.slice(Math.max(0, lines.length - options.tailLines));
    if (!options.follow || c.state.status === "exited") return Readable.from(lines.map(render));
    const out = new PassThrough();
    for (const l of lines) out.write(render(l));
    const onLine = (l: { at: Date; text: string }): void => void out.write(render(l));
    const onEnd = (): void => void out.end();
    c.output.on("line", onLine);
    c.output.once("end", onEnd);
    out.on("close", () => {
      c.output.off("line", onLine);
      c.output.off("end", onEnd);
    });
    return out;
  }

  async httpProbe(ip: string, port: number, path: string, timeoutMs: number): Promise<{ ok: boolean; status?: number; error?: string }> {
    const c = [...this.containers.values()].find(
      (x) => x.state.ip === ip && x.state.status === "running" && (x.spec.ports.length === 0 || x.spec.ports.some((p) => p.containerPort === port)),
    );
    const refused = { ok: false, error: `dial tcp ${ip}:${port}: connect: connection refused` };
    if (!c) return refused;
    const answer = c.behavior.http ? c.behavior.http(path, port) : 200;
    if (answer === "refuse") return refused;
    if (answer === "timeout") {
      await new Promise((resolve) => setTimeout(resolve, timeoutMs));
      return { ok: false, error: "context deadline exceeded (Client.Timeout exceeded while awaiting headers)" };
    }
    return { ok: answer >= 200 && answer < 400, status: answer };
  }

  async tcpProbe(ip: string, port: number, timeoutMs: number): Promise<{ ok: boolean; error?: string }> {
    // A scripted server that answers HTTP at all has its port open.
    const answer = await this.httpProbe(ip, port, "/", timeoutMs);
    return answer.status !== undefined
      ? { ok: true }
      : { ok: false, error: answer.error?.replace(/^context deadline exceeded.*/, `dial tcp ${ip}:${port}: i/o timeout`) };
  }

  async syncNodePorts(rules: NodePortRule[]): Promise<void> {
    this.nodePortSyncs.push(structuredClone(rules));
  }

  /** The directory exec'd commands of a container run in (tests read what a command left there). */
  scratchDir(id: string): string {
    const c = this.containers.get(id);
    if (!c) throw new Error(`no such container: ${id}`);
    c.scratch ??= mkdtempSync(join(tmpdir(), "mlkube-sim-exec-"));
    return c.scratch;
  }

  async execInContainer(id: string, command: string[], streams: ExecStreams): Promise<number> {
    const c = this.containers.get(id);
    if (!c || c.state.status !== "running") throw new Error(`container ${id} is not running`);
    const [file, ...args] = command;
    if (!file) throw new Error("no command given");
    const env = Object.fromEntries([["PATH", process.env.PATH ?? "/usr/bin:/bin"], ...c.spec.env.map((e) => [e.name, e.value])]);
    const child = spawn(file, args, { cwd: this.scratchDir(id), env, stdio: ["pipe", "pipe", "pipe"] });
    child.stdout.on("data", (chunk: Buffer) => streams.stdout?.(chunk));
    child.stderr.on("data", (chunk: Buffer) => streams.stderr?.(chunk));
    child.stdin.on("error", () => undefined); // a process that exits before reading all of stdin
    if (streams.stdin) streams.stdin.pipe(child.stdin);
    else child.stdin.end();
    // The client went away: stdin ends, the process lives on (see ExecStreams.signal).
    streams.signal.addEventListener("abort", () => child.stdin.end(), { once: true });
    // An exec'd process is in the container: it dies with it.
    const kill = (): void => void child.kill("SIGKILL");
    c.output.once("end", kill);
    child.once("close", () => c.output.off("end", kill));
    // A process killed by a signal exits with 128 + its number, as runc reports it.
    return new Promise<number>((resolve, reject) => {
      // containerd's and runc's words for a process that cannot start.
      const cannotStart = (reason: string): Error =>
        new Error(
          `failed to exec in container: failed to start exec "${child.pid ?? 0}": OCI runtime exec failed: exec failed: unable to start container process: exec: "${file}": ${reason}: unknown`,
        );
      child.once("error", (err) => reject(cannotStart((err as NodeJS.ErrnoException).code === "ENOENT" ? "executable file not found in $PATH" : err.message)));
      child.once("close", (code, signal) => resolve(code ?? 128 + (signal ? constants.signals[signal] : 0)));
    });
  }
}
