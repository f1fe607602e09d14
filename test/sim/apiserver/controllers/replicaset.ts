/**
 * The ReplicaSet controller: keeps spec.replicas active pods (named RSNAME-xxxxx, owned through a
 * controller ownerReference), deletes the least valuable pods first when scaling down, and
 * reports replicas/readyReplicas/availableReplicas (ready for minReadySeconds).
 */
import { selectorMatches } from "../selectors.js";
import { R, storeKey } from "../resources.js";
import { ApiError } from "../status.js";
import { clone, type KObject, type Pod, type ReplicaSet } from "../types.js";
import type { EventRecorder } from "./events.js";
import { WorkQueue } from "./queue.js";
import { CONTROLLER_MANAGER, condition, omitZero, controllerRef, ownerRefTo, podActive, podAvailable, podReady, type ControllerContext } from "./util.js";

const PHASE_RANK: Record<string, number> = { Pending: 0, Unknown: 1, Running: 2 };

/** ActivePodsWithRanks: which pod to delete first when scaling down. */
function deletionOrder(a: Pod, b: Pod): number {
  const assigned = (p: Pod): number => (p.spec.nodeName ? 1 : 0);
  if (assigned(a) !== assigned(b)) return assigned(a) - assigned(b);
  const phase = (p: Pod): number => PHASE_RANK[p.status?.phase ?? "Pending"] ?? 0;
  if (phase(a) !== phase(b)) return phase(a) - phase(b);
  const ready = (p: Pod): number => (podReady(p) ? 1 : 0);
  if (ready(a) !== ready(b)) return ready(a) - ready(b);
  const restarts = (p: Pod): number => Math.max(0, ...(p.status?.containerStatuses ?? []).map((c) => c.restartCount));
  if (restarts(a) !== restarts(b)) return restarts(b) - restarts(a);
  // Newer pods go first.
  return (b.metadata.creationTimestamp ?? "").localeCompare(a.metadata.creationTimestamp ?? "");
}

export class ReplicaSetController {
  private readonly queue: WorkQueue;
  private readonly events: EventRecorder;
  private unsubscribe: () => void = () => undefined;

  constructor(private readonly ctx: ControllerContext) {
    this.queue = new WorkQueue("replicaset-controller", (key) => this.sync(key), ctx.log);
    this.events = ctx.recorder("replicaset-controller");
  }

  start(): void {
    this.unsubscribe = this.ctx.store.subscribe((event) => {
      if (event.resource === storeKey(R.replicasets)) this.queue.add(keyOf(event.object));
      if (event.resource === storeKey(R.pods)) {
        for (const obj of [event.object, event.old]) {
          const ref = obj && controllerRef(obj);
          if (obj && ref?.kind === "ReplicaSet") this.queue.add(`${obj.metadata.namespace}/${ref.name}`);
        }
      }
    });
    for (const rs of this.ctx.store.list(storeKey(R.replicasets))) this.queue.add(keyOf(rs));
  }

  stop(): void {
    this.unsubscribe();
    this.queue.close();
  }

  private sync(key: string): void {
    const [namespace = "", name = ""] = key.split("/");
    const rs = this.ctx.registry.tryGet(R.replicasets, namespace, name) as ReplicaSet | undefined;
    if (!rs) return;
    const owned = (): Pod[] => (this.ctx.store.list(storeKey(R.pods), namespace) as Pod[]).filter((p) => controllerRef(p)?.uid === rs.metadata.uid);
    if (!rs.metadata.deletionTimestamp) this.manageReplicas(rs, owned().filter(podActive));
    this.updateStatus(rs, owned());
  }

  private manageReplicas(rs: ReplicaSet, active: Pod[]): void {
    const want = rs.spec.replicas ?? 1;
    const diff = active.length - want;
    if (diff < 0) {
      for (let i = 0; i < -diff; i++) {
        const template = clone(rs.spec.template);
        const pod = {
          apiVersion: "v1",
          kind: "Pod",
          metadata: {
            generateName: `${rs.metadata.name}-`,
            namespace: rs.metadata.namespace,
            labels: template.metadata?.labels ?? {},
            ...(template.metadata?.annotations ? { annotations: template.metadata.annotations } : {}),
            ownerReferences: [ownerRefTo(rs)],
          },
          spec: template.spec,
        } as unknown as KObject;
        try {
          const created = this.ctx.registry.createObject(R.pods, pod, CONTROLLER_MANAGER);
          this.events.normal(rs, "SuccessfulCreate", `Created pod: ${created.metadata.name}`);
        } catch (err) {
          const message = err instanceof ApiError ? err.message : String(err);
          this.events.warning(rs, "FailedCreate", `Error creating: ${message}`);
          return;
        }
      }
    } else if (diff > 0) {
      const victims = [...active].sort(deletionOrder).slice(0, diff);
      for (const pod of victims) {
        try {
          this.ctx.registry.delete(R.pods, pod.metadata.namespace, pod.metadata.name ?? "");
          this.events.normal(rs, "SuccessfulDelete", `Deleted pod: ${pod.metadata.name}`);
        } catch (err) {
          this.events.warning(rs, "FailedDelete", `Error deleting: ${(err as Error).message}`);
        }
      }
    }
  }

  private updateStatus(rs: ReplicaSet, pods: Pod[]): void {
    const active = pods.filter(podActive);
    const minReady = rs.spec.minReadySeconds ?? 0;
    const now = Date.now();
    const ready = active.filter(podReady);
    const available = active.filter((p) => podAvailable(p, minReady, now));
    const templateLabels = rs.spec.template.metadata?.labels ?? {};
    const fullyLabeled = active.filter((p) => selectorMatches({ matchLabels: templateLabels }, p.metadata.labels));
    // Pods that are ready but not yet for minReadySeconds become available later: look again then.
    for (const p of ready) {
      if (available.includes(p)) continue;
      const since = Date.parse(condition(p.status?.conditions, "Ready")?.lastTransitionTime ?? "");
      if (Number.isFinite(since)) this.queue.addAfter(keyOf(rs), since + minReady * 1000 - now + 50);
    }
    this.ctx.registry.mutate(
      R.replicasets,
      rs.metadata.namespace,
      rs.metadata.name ?? "",
      CONTROLLER_MANAGER,
      (o) => {
        const status = omitZero(
          {
            replicas: active.length,
            fullyLabeledReplicas: fullyLabeled.length,
            readyReplicas: ready.length,
            availableReplicas: available.length,
            observedGeneration: o.metadata.generation,
          },
          ["replicas"],
        );
        const current = (o as ReplicaSet).status;
        if (current && JSON.stringify(current) === JSON.stringify(status)) return false;
        (o as ReplicaSet).status = status;
        return true;
      },
      "status",
    );
  }
}

function keyOf(obj: KObject): string {
  return `${obj.metadata.namespace}/${obj.metadata.name}`;
}
