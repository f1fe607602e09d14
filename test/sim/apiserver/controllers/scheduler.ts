/**
 * The scheduler: binds each pending pod to a node whose allocatable resources fit the pod's
 * requests plus those of the pods already there (and whose labels match its nodeSelector). A pod
 * that fits nowhere stays Pending with PodScheduled=False/Unschedulable and a FailedScheduling
 * event worded like the real one ("0/1 nodes are available: 1 Insufficient memory. ..."), and is
 * tried again when pods go away, nodes change, or after a retry interval.
 */
import { cpuMillis, memoryBytes } from "../quantity.js";
import { R, storeKey } from "../resources.js";
import { clone, nowIso, type Container, type NodeObject, type Pod, type Taint, type Toleration } from "../types.js";
import type { EventRecorder } from "./events.js";
import { WorkQueue } from "./queue.js";
import { setCondition, type ControllerContext } from "./util.js";

const SCHEDULER = "default-scheduler";

export interface PodRequests {
  cpuMillis: number;
  memoryBytes: number;
}

/** Effective requests: the sum over containers (init containers count by their maximum). */
export function podRequests(pod: Pod): PodRequests {
  const of = (c: Container): PodRequests => ({
    cpuMillis: cpuMillis(c.resources?.requests?.cpu ?? c.resources?.limits?.cpu) ?? 0,
    memoryBytes: memoryBytes(c.resources?.requests?.memory ?? c.resources?.limits?.memory) ?? 0,
  });
  const total = (pod.spec.containers ?? [])
    .map(of)
    .reduce((a, b) => ({ cpuMillis: a.cpuMillis + b.cpuMillis, memoryBytes: a.memoryBytes + b.memoryBytes }), { cpuMillis: 0, memoryBytes: 0 });
  for (const init of (pod.spec.initContainers ?? []).map(of)) {
    total.cpuMillis = Math.max(total.cpuMillis, init.cpuMillis);
    total.memoryBytes = Math.max(total.memoryBytes, init.memoryBytes);
  }
  return total;
}

/** Toleration matching as in kubernetes pkg/apis/core/v1/helper (ToleratesTaint): key, operator, value, effect. */
function tolerates(tolerations: readonly Toleration[], taint: Taint): boolean {
  return tolerations.some((toleration) => {
    if (toleration.effect && toleration.effect !== taint.effect) return false;
    if (toleration.key && toleration.key !== taint.key) return false;
    if (!toleration.key && toleration.operator !== "Exists") return false;
    return toleration.operator === "Exists" || (toleration.value ?? "") === (taint.value ?? "");
  });
}

export class Scheduler {
  private readonly queue: WorkQueue;
  private readonly events: EventRecorder;
  private unsubscribe: () => void = () => undefined;
  private retryTimer?: NodeJS.Timeout;

  constructor(private readonly ctx: ControllerContext) {
    this.queue = new WorkQueue("scheduler", () => this.scheduleAll(), ctx.log);
    this.events = ctx.recorder(SCHEDULER);
  }

  start(): void {
    this.unsubscribe = this.ctx.store.subscribe((event) => {
      if (event.resource === storeKey(R.nodes)) this.queue.add("all");
      if (event.resource !== storeKey(R.pods)) return;
      const pod = event.object as Pod;
      // A new pending pod, or a pod that freed resources.
      if (!pod.spec.nodeName || event.type === "DELETED" || pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed") this.queue.add("all");
    });
    this.retryTimer = setInterval(() => this.queue.add("all"), this.ctx.timing.schedulerRetryMs);
    this.queue.add("all");
  }

  stop(): void {
    this.unsubscribe();
    if (this.retryTimer) clearInterval(this.retryTimer);
    this.queue.close();
  }

  private scheduleAll(): void {
    const pods = this.ctx.store.list(storeKey(R.pods)) as Pod[];
    const pending = pods
      .filter((p) => !p.spec.nodeName && !p.metadata.deletionTimestamp && (p.spec.schedulerName ?? SCHEDULER) === SCHEDULER)
      .sort((a, b) => (a.metadata.creationTimestamp ?? "").localeCompare(b.metadata.creationTimestamp ?? ""));
    for (const pod of pending) this.schedule(pod);
  }

  private schedule(pod: Pod): void {
    const nodes = this.ctx.store.list(storeKey(R.nodes)) as NodeObject[];
    const pods = this.ctx.store.list(storeKey(R.pods)) as Pod[];
    const want = podRequests(pod);
    const reasons = new Map<string, number>();
    const count = (reason: string): void => {
      reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
    };
    let chosen: NodeObject | undefined;
    let resourceOnly = true;
    for (const node of nodes) {
      const labels = node.metadata.labels ?? {};
      const selector = pod.spec.nodeSelector ?? {};
      if (!Object.entries(selector).every(([k, v]) => labels[k] === v)) {
        count("node(s) didn't match Pod's node affinity/selector");
        resourceOnly = false;
        continue;
      }
      if (node.spec?.unschedulable) {
        count("node(s) were unschedulable");
        resourceOnly = false;
        continue;
      }
      const untolerated = (node.spec?.taints ?? []).find((taint) => taint.effect !== "PreferNoSchedule" && !tolerates(pod.spec.tolerations ?? [], taint));
      if (untolerated) {
        count(`node(s) had untolerated taint {${untolerated.key}: ${untolerated.value ?? ""}}`);
        resourceOnly = false;
        continue;
      }
      const onNode = pods.filter((p) => p.spec.nodeName === node.metadata.name && p.status?.phase !== "Succeeded" && p.status?.phase !== "Failed");
      const used = onNode
        .map(podRequests)
        .reduce((a, b) => ({ cpuMillis: a.cpuMillis + b.cpuMillis, memoryBytes: a.memoryBytes + b.memoryBytes }), { cpuMillis: 0, memoryBytes: 0 });
      const alloc = node.status.allocatable;
      let fits = true;
      if (onNode.length + 1 > Number(alloc.pods ?? 110)) {
        count("Too many pods");
        fits = false;
      }
      if (want.cpuMillis > 0 && used.cpuMillis + want.cpuMillis > (cpuMillis(alloc.cpu) ?? 0)) {
        count("Insufficient cpu");
        fits = false;
      }
      if (want.memoryBytes > 0 && used.memoryBytes + want.memoryBytes > (memoryBytes(alloc.memory) ?? 0)) {
        count("Insufficient memory");
        fits = false;
      }
      if (fits) {
        chosen = node;
        break;
      }
    }
    if (chosen) return this.bind(pod, chosen);

    const n = nodes.length;
    const detail = [...reasons.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([reason, k]) => `${k} ${reason}`)
      .join(", ");
    const preemption = resourceOnly ? `${n} No preemption victims found for incoming pod` : `${n} Preemption is not helpful for scheduling`;
    const message =
      n === 0 ? "no nodes available to schedule pods" : `0/${n} nodes are available: ${detail}. preemption: 0/${n} nodes are available: ${preemption}.`;
    this.ctx.registry.mutate(
      R.pods,
      pod.metadata.namespace,
      pod.metadata.name ?? "",
      SCHEDULER,
      (o) => {
        const p = o as Pod;
        p.status ??= {};
        const conditions = clone(p.status.conditions ?? []);
        if (!setCondition(conditions, { type: "PodScheduled", status: "False", lastProbeTime: null, reason: "Unschedulable", message }, nowIso())) return false;
        p.status.conditions = conditions;
        return true;
      },
      "status",
    );
    this.events.warning(pod, "FailedScheduling", message);
  }

  private bind(pod: Pod, node: NodeObject): void {
    const nodeName = node.metadata.name ?? "";
    // Binding sets the node and the PodScheduled condition in one write, as the binding subresource does.
    const bound = this.ctx.registry.bind(pod.metadata.namespace ?? "", pod.metadata.name ?? "", nodeName, SCHEDULER);
    if (bound) this.events.normal(bound, "Scheduled", `Successfully assigned ${pod.metadata.namespace}/${pod.metadata.name} to ${nodeName}`);
  }
}
