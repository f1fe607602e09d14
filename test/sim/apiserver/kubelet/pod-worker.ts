/**
 * One pod on one node, from binding to removal: pulls images (with ImagePullBackOff), starts each
 * container through the node runtime, runs its readiness and liveness probes, restarts it by
 * restartPolicy with CrashLoopBackOff back-off, keeps the previous attempt for `logs --previous`,
 * reports status, and on deletion stops the containers within the grace period and removes the
 * pod. Each container has its own loop; all of them stop through one AbortSignal.
 */
import type { ContainerState, NodeRuntime } from "../../contract.js";
import type { EventRecorder } from "../controllers/events.js";
import { runtimeContainerId } from "../names.js";
import type { Registry } from "../registry.js";
import { R } from "../resources.js";
import type { Backoff } from "../timing.js";
import { nowIso, type Container, type ContainerStateTerminated, type Pod } from "../types.js";
import { buildContainerSpec, ContainerConfigError } from "./container-spec.js";
import { containerStatuses, podConditions, podPhase, type ContainerRecord } from "./pod-status.js";
import { runProbe } from "./probes.js";

export interface WorkerContext {
  registry: Registry;
  runtime: NodeRuntime;
  recorder: EventRecorder;
  crashBackoff: Backoff;
  imageBackoff: Backoff;
  /** containerd://... -> runtime id, for the log endpoint. */
  containerIds: Map<string, string>;
  log: (line: string) => void;
}

const KUBELET = "kubelet";

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, Math.max(0, ms));
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}

/** Go's time.Duration.String() for the back-off messages ("10s", "2m40s", "500ms"). */
export function goDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const totalSeconds = ms / 1000;
  const minutes = Math.floor(totalSeconds / 60);
  const seconds = Math.round((totalSeconds - minutes * 60) * 1000) / 1000;
  return minutes > 0 ? `${minutes}m${seconds}s` : `${seconds}s`;
}

function terminationOf(state: ContainerState, containerID: string, startedFallback: string): ContainerStateTerminated {
  const exitCode = state.exitCode ?? 0;
  const term: ContainerStateTerminated = {
    exitCode,
    reason: state.oomKilled ? "OOMKilled" : exitCode === 0 ? "Completed" : "Error",
    startedAt: state.startedAt ?? startedFallback,
    finishedAt: state.finishedAt ?? nowIso(),
    containerID,
  };
  if (state.message) term.message = state.message;
  return term;
}

export class PodWorker {
  readonly uid: string;
  private readonly namespace: string;
  private readonly name: string;
  private readonly abort = new AbortController();
  private readonly records = new Map<string, ContainerRecord>();
  /** Runtime ids of every attempt created, per container, oldest first. */
  private readonly attempts = new Map<string, string[]>();
  /** The attempt that is running now, per container. */
  private readonly live = new Map<string, string>();
  private readonly loops: Promise<void>[] = [];
  private podIP?: string;
  private readonly startTime = nowIso();
  private statusQueued = false;
  private terminating?: Promise<void>;

  constructor(
    private readonly ctx: WorkerContext,
    pod: Pod,
  ) {
    this.uid = pod.metadata.uid ?? "";
    this.namespace = pod.metadata.namespace ?? "";
    this.name = pod.metadata.name ?? "";
  }

  private pod(): Pod | undefined {
    const p = this.ctx.registry.tryGet(R.pods, this.namespace, this.name) as Pod | undefined;
    return p?.metadata.uid === this.uid ? p : undefined;
  }

  start(pod: Pod): void {
    for (const c of pod.spec.containers) {
      this.records.set(c.name, {
        name: c.name,
        image: c.image ?? "",
        imageID: "",
        restartCount: 0,
        state: { waiting: { reason: "ContainerCreating" } },
        lastState: {},
        ready: false,
        started: false,
      });
      this.loops.push(
        this.containerLoop(pod, c).catch((err: unknown) =>
          this.ctx.log(`pod ${this.namespace}/${this.name} container ${c.name}: ${(err as Error)?.stack ?? String(err)}`),
        ),
      );
    }
    this.queueStatus();
  }

  /** A new version of the pod object arrived. */
  update(pod: Pod): void {
    if (pod.metadata.deletionTimestamp && !this.terminating)
      this.terminating = this.terminate(pod.metadata.deletionGracePeriodSeconds ?? pod.spec.terminationGracePeriodSeconds ?? 30, true);
  }

  /** The pod object is gone (force deletion) or the node shuts down: stop and clean up. */
  async shutdown(): Promise<void> {
    if (!this.terminating) this.terminating = this.terminate(0, false);
    await this.terminating;
  }

  private event(type: "Normal" | "Warning", reason: string, message: string, container?: string): void {
    const pod = this.pod();
    if (pod) this.ctx.recorder.record(pod, type, reason, message, container ? `spec.containers{${container}}` : undefined);
  }

  private queueStatus(): void {
    if (this.statusQueued) return;
    this.statusQueued = true;
    setImmediate(() => {
      this.statusQueued = false;
      this.writeStatus();
    });
  }

  private writeStatus(terminalPhase?: "Succeeded" | "Failed"): void {
    const node = this.ctx.runtime.node;
    const records = [...this.records.values()];
    try {
      this.ctx.registry.mutate(
        R.pods,
        this.namespace,
        this.name,
        KUBELET,
        (o) => {
          const pod = o as Pod;
          if (pod.metadata.uid !== this.uid) return false;
          const status = pod.status ?? {};
          const now = nowIso();
          status.phase = terminalPhase ?? podPhase(records, pod.spec.restartPolicy ?? "Always");
          status.conditions = podConditions(status.conditions ?? [], records, true, now);
          status.hostIP = node.internalIP;
          status.hostIPs = [{ ip: node.internalIP }];
          if (this.podIP) {
            status.podIP = this.podIP;
            status.podIPs = [{ ip: this.podIP }];
          }
          status.startTime ??= this.startTime;
          status.containerStatuses = structuredClone(containerStatuses(records));
          pod.status = status;
        },
        "status",
      );
    } catch (err) {
      this.ctx.log(`status of ${this.namespace}/${this.name}: ${(err as Error).message}`);
    }
  }

  private async containerLoop(pod: Pod, c: Container): Promise<void> {
    const signal = this.abort.signal;
    const rec = this.records.get(c.name);
    if (!rec) return;
    const backoffKey = `${this.uid}/${c.name}`;
    let attempt = 0;
    while (!signal.aborted) {
      const imageID = await this.ensureImage(c, rec, signal);
      if (imageID === undefined || signal.aborted) return;
      rec.imageID = imageID;

      const current = this.pod() ?? pod;
      let spec;
      try {
        spec = buildContainerSpec(this.ctx.registry, current, c, attempt);
      } catch (err) {
        if (!(err instanceof ContainerConfigError)) throw err;
        rec.state = { waiting: { reason: "CreateContainerConfigError", message: err.message } };
        this.event("Warning", "Failed", `Error: ${err.message}`, c.name);
        this.queueStatus();
        await sleep(this.ctx.imageBackoff.failureDelay(`${backoffKey}/config`), signal);
        continue;
      }

      let state: ContainerState;
      let startError: string | undefined;
      const startedAt = nowIso();
      this.live.set(c.name, spec.id);
      try {
        state = await this.ctx.runtime.startContainer(spec);
        // A container that exited with 128 without ever starting is containerd's StartError
        // (an entrypoint that does not exist, say).
        if (state.status === "exited" && state.exitCode === 128 && !state.startedAt) startError = state.message ?? "failed to start container";
      } catch (err) {
        const message = (err as Error).message;
        if (/^container has runAsNonRoot/.test(message)) {
          // The kubelet refuses these before creating anything: a config error, retried with back-off.
          this.live.delete(c.name);
          rec.state = { waiting: { reason: "CreateContainerConfigError", message } };
          this.event("Warning", "Failed", `Error: ${message}`, c.name);
          this.queueStatus();
          await sleep(this.ctx.imageBackoff.failureDelay(`${backoffKey}/config`), signal);
          continue;
        }
        startError = message;
        state = { status: "exited", exitCode: 128, message: startError, startedAt: "1970-01-01T00:00:00Z", finishedAt: nowIso() };
      }
      this.attempts.set(c.name, [...(this.attempts.get(c.name) ?? []), spec.id]);
      attempt++;
      const containerID = runtimeContainerId(spec.id);
      this.ctx.containerIds.set(containerID, spec.id);
      if (signal.aborted) {
        // Terminating while this attempt was starting: terminate() may have tried to stop it
        // before it existed, so stop it here too.
        if (state.status !== "exited") await this.ctx.runtime.stopContainer(spec.id, 0).catch(() => undefined);
        this.live.delete(c.name);
        return;
      }
      rec.restartCount = attempt - 1;
      if (rec.state.terminated) rec.lastState = { terminated: rec.state.terminated };
      rec.containerID = containerID;

      let term: ContainerStateTerminated;
      if (startError !== undefined) {
        this.event("Warning", "Failed", `Error: ${startError}`, c.name);
        term = { exitCode: 128, reason: "StartError", message: startError, startedAt: "1970-01-01T00:00:00Z", finishedAt: nowIso(), containerID };
      } else {
        this.event("Normal", "Created", `Created container: ${c.name}`, c.name);
        this.event("Normal", "Started", `Started container ${c.name}`, c.name);
        if (state.ip) this.podIP ??= state.ip;
        if (state.status === "exited") {
          term = terminationOf(state, containerID, startedAt);
        } else {
          rec.state = { running: { startedAt: state.startedAt ?? startedAt } };
          rec.started = true;
          rec.ready = !c.readinessProbe;
          this.queueStatus();
          const probes = new AbortController();
          const stopProbes = (): void => probes.abort();
          signal.addEventListener("abort", stopProbes, { once: true });
          if (c.readinessProbe) void this.readinessLoop(c, rec, probes.signal);
          if (c.livenessProbe) void this.livenessLoop(c, spec.id, probes.signal);
          let final: ContainerState;
          try {
            final = await this.ctx.runtime.waitContainer(spec.id);
          } catch (err) {
            final = { status: "exited", exitCode: 255, message: (err as Error).message };
          }
          probes.abort();
          signal.removeEventListener("abort", stopProbes);
          term = terminationOf(final, containerID, state.startedAt ?? startedAt);
        }
      }
      this.live.delete(c.name);
      rec.ready = false;
      rec.started = false;
      rec.state = { terminated: term };
      if (signal.aborted) {
        this.queueStatus();
        return;
      }
      const policy = (this.pod() ?? pod).spec.restartPolicy ?? "Always";
      if (policy === "Never" || (policy === "OnFailure" && term.exitCode === 0)) {
        this.queueStatus();
        return;
      }
      this.pruneAttempts(c.name);
      const delay = this.ctx.crashBackoff.restartDelay(backoffKey, Date.parse(term.finishedAt ?? "") || Date.now());
      if (delay > 0) {
        rec.lastState = { terminated: term };
        rec.state = {
          waiting: {
            reason: "CrashLoopBackOff",
            message: `back-off ${goDuration(delay)} restarting failed container=${c.name} pod=${this.name}_${this.namespace}(${this.uid})`,
          },
        };
        this.event("Warning", "BackOff", `Back-off restarting failed container ${c.name} in pod ${this.name}_${this.namespace}(${this.uid})`, c.name);
        this.queueStatus();
        await sleep(delay, signal);
      } else this.queueStatus();
    }
  }

  /** The kubelet keeps the last dead container of each name (for --previous); older ones go. */
  private pruneAttempts(container: string): void {
    const ids = this.attempts.get(container) ?? [];
    while (ids.length > 1) {
      const old = ids.shift();
      if (old) void this.ctx.runtime.removeContainer(old).catch(() => undefined);
    }
  }

  private async ensureImage(c: Container, rec: ContainerRecord, signal: AbortSignal): Promise<string | undefined> {
    const image = c.image ?? "";
    const policy = c.imagePullPolicy ?? "IfNotPresent";
    const key = `${this.uid}/${image}`;
    while (!signal.aborted) {
      if (policy !== "Always") {
        // Is it there already? A "Never" pull is a presence check and never touches a registry.
        const present = await this.ctx.runtime
          .pullImage(image, "Never", signal)
          .catch((err: Error) => ({ ok: false as const, reason: "ErrImagePull" as const, message: err.message }));
        if (present.ok) {
          // Every start says so again (the recorder aggregates repeats into one Event's count).
          this.event("Normal", "Pulled", `Container image "${image}" already present on machine`, c.name);
          return present.imageId;
        }
        if (policy === "Never") {
          const message = `Container image "${image}" is not present with pull policy of Never`;
          rec.state = { waiting: { reason: "ErrImageNeverPull", message } };
          this.event("Warning", "ErrImageNeverPull", message, c.name);
          this.event("Warning", "Failed", "Error: ErrImageNeverPull", c.name);
          this.queueStatus();
          await sleep(this.ctx.imageBackoff.failureDelay(key), signal);
          continue;
        }
      }
      this.event("Normal", "Pulling", `Pulling image "${image}"`, c.name);
      const t0 = Date.now();
      const result = await this.ctx.runtime
        .pullImage(image, policy, signal)
        .catch((err: Error) => ({ ok: false as const, reason: "ErrImagePull" as const, message: err.message }));
      if (signal.aborted) return undefined;
      if (result.ok) {
        const took = goDuration(Date.now() - t0);
        this.event("Normal", "Pulled", `Successfully pulled image "${image}" in ${took} (${took} including waiting)`, c.name);
        return result.imageId;
      }
      rec.state = { waiting: { reason: "ErrImagePull", message: result.message } };
      this.event("Warning", "Failed", `Failed to pull image "${image}": ${result.message}`, c.name);
      this.event("Warning", "Failed", "Error: ErrImagePull", c.name);
      this.queueStatus();
      const delay = this.ctx.imageBackoff.failureDelay(key);
      // The next pod sync (shortly after) finds the image in back-off.
      const pause = Math.min(2000, delay / 5);
      await sleep(pause, signal);
      if (signal.aborted) return undefined;
      rec.state = { waiting: { reason: "ImagePullBackOff", message: `Back-off pulling image "${image}": ErrImagePull: ${result.message}` } };
      this.event("Normal", "BackOff", `Back-off pulling image "${image}"`, c.name);
      this.event("Warning", "Failed", "Error: ImagePullBackOff", c.name);
      this.queueStatus();
      await sleep(delay - pause, signal);
    }
    return undefined;
  }

  private async readinessLoop(c: Container, rec: ContainerRecord, signal: AbortSignal): Promise<void> {
    const probe = c.readinessProbe;
    if (!probe) return;
    await sleep((probe.initialDelaySeconds ?? 0) * 1000, signal);
    let successes = 0;
    let failures = 0;
    while (!signal.aborted) {
      const outcome = await runProbe(this.ctx.runtime, c, probe, this.podIP);
      if (signal.aborted) return;
      if (outcome.ok) {
        successes++;
        failures = 0;
        if (!rec.ready && successes >= (probe.successThreshold ?? 1)) {
          rec.ready = true;
          this.queueStatus();
        }
      } else {
        failures++;
        successes = 0;
        this.event("Warning", "Unhealthy", `Readiness probe failed: ${outcome.detail ?? ""}`, c.name);
        if (rec.ready && failures >= (probe.failureThreshold ?? 3)) {
          rec.ready = false;
          this.queueStatus();
        }
      }
      await sleep((probe.periodSeconds ?? 10) * 1000, signal);
    }
  }

  private async livenessLoop(c: Container, id: string, signal: AbortSignal): Promise<void> {
    const probe = c.livenessProbe;
    if (!probe) return;
    await sleep((probe.initialDelaySeconds ?? 0) * 1000, signal);
    let failures = 0;
    while (!signal.aborted) {
      const outcome = await runProbe(this.ctx.runtime, c, probe, this.podIP);
      if (signal.aborted) return;
      if (outcome.ok) failures = 0;
      else {
        failures++;
        this.event("Warning", "Unhealthy", `Liveness probe failed: ${outcome.detail ?? ""}`, c.name);
        if (failures >= (probe.failureThreshold ?? 3)) {
          this.event("Normal", "Killing", `Container ${c.name} failed liveness probe, will be restarted`, c.name);
          const grace = (this.pod()?.spec.terminationGracePeriodSeconds ?? 30) as number;
          await this.ctx.runtime.stopContainer(id, grace).catch((err: Error) => this.ctx.log(`stop ${id}: ${err.message}`));
          return;
        }
      }
      await sleep((probe.periodSeconds ?? 10) * 1000, signal);
    }
  }

  /**
   * Stops every live container within the grace period, reports the final states and a terminal
   * phase, removes the containers, and (for a graceful API deletion) removes the pod object.
   */
  private async terminate(gracePeriodSeconds: number, removeObject: boolean): Promise<void> {
    this.abort.abort();
    const stops = [...this.live.entries()].map(async ([container, id]) => {
      if (removeObject) this.event("Normal", "Killing", `Stopping container ${container}`, container);
      await this.ctx.runtime.stopContainer(id, gracePeriodSeconds).catch((err: Error) => this.ctx.log(`stop ${id}: ${err.message}`));
    });
    await Promise.allSettled(stops);
    await Promise.allSettled(this.loops);
    for (const rec of this.records.values()) {
      rec.ready = false;
      if (!rec.state.terminated && rec.state.running) {
        rec.state = {
          terminated: { exitCode: 137, reason: "Error", startedAt: rec.state.running.startedAt, finishedAt: nowIso(), containerID: rec.containerID },
        };
      }
    }
    const records = [...this.records.values()];
    const failed = records.some((r) => r.state.terminated && r.state.terminated.exitCode !== 0);
    if (removeObject) this.writeStatus(failed ? "Failed" : "Succeeded");
    for (const ids of this.attempts.values()) for (const id of ids) await this.ctx.runtime.removeContainer(id).catch(() => undefined);
    for (const [cid, rid] of this.ctx.containerIds) if (rid.includes(`_${this.uid}_`)) this.ctx.containerIds.delete(cid);
    this.ctx.crashBackoff.forget(`${this.uid}/`);
    this.ctx.imageBackoff.forget(`${this.uid}/`);
    if (removeObject && this.pod()) {
      try {
        this.ctx.registry.delete(R.pods, this.namespace, this.name, { gracePeriodSeconds: 0, preconditions: { uid: this.uid } });
      } catch (err) {
        this.ctx.log(`final delete of ${this.namespace}/${this.name}: ${(err as Error).message}`);
      }
    }
  }

  /** The runtime id to read logs from, following the kubelet's validateContainerLogStatus. */
  /** The runtime id of the container's running attempt: only a running container can be exec'd into. */
  runningAttempt(container: string): string | undefined {
    return this.records.get(container)?.state.running ? this.live.get(container) : undefined;
  }

  logTarget(container: string, previous: boolean): { id?: string; error?: string } {
    const rec = this.records.get(container);
    const podName = this.name;
    if (!rec) return { error: `container "${container}" in pod "${podName}" is waiting to start: ContainerCreating` };
    const idOf = (cid: string | undefined): string | undefined => (cid ? this.ctx.containerIds.get(cid) : undefined);
    if (previous) {
      const id = idOf(rec.lastState.terminated?.containerID);
      return id ? { id } : { error: `previous terminated container "${container}" in pod "${podName}" not found` };
    }
    if (rec.state.running || rec.state.terminated) {
      const id = idOf(rec.state.terminated?.containerID ?? rec.containerID);
      if (id) return { id };
    }
    if (rec.lastState.terminated) {
      const id = idOf(rec.lastState.terminated.containerID);
      if (id) return { id };
    }
    const reason = rec.state.waiting?.reason ?? "ContainerCreating";
    if (reason === "ErrImagePull") return { error: `container "${container}" in pod "${podName}" is waiting to start: image can't be pulled` };
    if (reason === "ImagePullBackOff") return { error: `container "${container}" in pod "${podName}" is waiting to start: trying and failing to pull image` };
    return { error: `container "${container}" in pod "${podName}" is waiting to start: ${reason}` };
  }
}
