/**
 * The kubelet of one node: runs a PodWorker for every pod bound to the node, hands pod deletions
 * to them, cleans up after pods that vanished, and answers the log and exec endpoints for its pods.
 */
import type { Readable } from "node:stream";
import type { ExecStreams, LogOptions, NodeRuntime } from "../../contract.js";
import type { ControllerContext } from "../controllers/util.js";
import { R, storeKey } from "../resources.js";
import { badRequest } from "../status.js";
import { Backoff } from "../timing.js";
import type { Pod } from "../types.js";
import { PodWorker, type WorkerContext } from "./pod-worker.js";
import { isSimulatedOnly } from "../system-pods.js";

export class Kubelet {
  private readonly workers = new Map<string, PodWorker>();
  private readonly wctx: WorkerContext;
  private unsubscribe: () => void = () => undefined;
  private stopped = false;

  constructor(
    private readonly ctx: ControllerContext,
    readonly runtime: NodeRuntime,
  ) {
    const t = ctx.timing;
    this.wctx = {
      registry: ctx.registry,
      runtime,
      recorder: ctx.recorder("kubelet", runtime.node.name),
      crashBackoff: new Backoff(t.crashBackoffBaseMs, t.crashBackoffMaxMs, t.crashBackoffResetMs),
      imageBackoff: new Backoff(t.imageBackoffBaseMs, t.imageBackoffMaxMs),
      containerIds: new Map(),
      log: ctx.log,
    };
  }

  get nodeName(): string {
    return this.runtime.node.name;
  }

  start(): void {
    this.unsubscribe = this.ctx.store.subscribe((event) => {
      if (event.resource !== storeKey(R.pods)) return;
      const pod = event.object as Pod;
      if (pod.spec.nodeName !== this.nodeName || isSimulatedOnly(pod)) return;
      // Never act inside a store listener: later listeners must see this event first.
      setImmediate(() =>
        event.type === "DELETED" ? this.podGone(pod) : this.podChanged(pod.metadata.namespace ?? "", pod.metadata.name ?? "", pod.metadata.uid ?? ""),
      );
    });
    for (const pod of this.ctx.store.list(storeKey(R.pods)) as Pod[]) {
      if (pod.spec.nodeName === this.nodeName && !isSimulatedOnly(pod))
        this.podChanged(pod.metadata.namespace ?? "", pod.metadata.name ?? "", pod.metadata.uid ?? "");
    }
  }

  private podChanged(namespace: string, name: string, uid: string): void {
    if (this.stopped) return;
    const pod = this.ctx.registry.tryGet(R.pods, namespace, name) as Pod | undefined;
    if (!pod || pod.metadata.uid !== uid) return;
    let worker = this.workers.get(uid);
    if (!worker) {
      const phase = pod.status?.phase;
      if (phase === "Succeeded" || phase === "Failed") {
        // A finished pod that is being deleted has nothing left to stop.
        if (pod.metadata.deletionTimestamp) this.ctx.registry.delete(R.pods, namespace, name, { gracePeriodSeconds: 0, preconditions: { uid } });
        return;
      }
      worker = new PodWorker(this.wctx, pod);
      this.workers.set(uid, worker);
      worker.start(pod);
    }
    worker.update(pod);
  }

  private podGone(pod: Pod): void {
    const uid = pod.metadata.uid ?? "";
    const worker = this.workers.get(uid);
    if (!worker) return;
    this.workers.delete(uid);
    void worker.shutdown();
  }

  async openLogs(pod: Pod, container: string, previous: boolean, options: LogOptions): Promise<Readable> {
    const worker = this.workers.get(pod.metadata.uid ?? "");
    const target = worker?.logTarget(container, previous) ?? {
      error: `container "${container}" in pod "${pod.metadata.name}" is waiting to start: ContainerCreating`,
    };
    if (!target.id) throw badRequest(target.error ?? "no logs");
    return this.runtime.containerLogs(target.id, options);
  }

  /**
   * Runs a command in the pod's running container. The kubelet only finds running containers
   * (GetExec → findContainer over the runtime's running pods, pkg/kubelet/kubelet_pods.go); for
   * any other it answers `container not found ("NAME")`.
   */
  isRunning(pod: Pod, container: string): boolean {
    return this.workers.get(pod.metadata.uid ?? "")?.runningAttempt(container) !== undefined;
  }

  exec(pod: Pod, container: string, command: string[], streams: ExecStreams): Promise<number> {
    const id = this.workers.get(pod.metadata.uid ?? "")?.runningAttempt(container);
    if (!id) return Promise.reject(new ContainerNotFound(container));
    return this.runtime.execInContainer(id, command, streams);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe();
    const workers = [...this.workers.values()];
    this.workers.clear();
    await Promise.allSettled(workers.map((w) => w.shutdown()));
  }
}

/** The kubelet's answer when the container to exec into is not running. */
export class ContainerNotFound extends Error {
  constructor(container: string) {
    super(`container not found ("${container}")`);
  }
}
