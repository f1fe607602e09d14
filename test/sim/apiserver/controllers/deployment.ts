/**
 * The Deployment controller (pkg/controller/deployment): one ReplicaSet per pod template, named
 * DEPLOYMENT-HASH with the pod-template-hash label; RollingUpdate within maxSurge/maxUnavailable
 * (counts or percentages, rounded as the real controller rounds them); Recreate; the revision
 * annotation; status counts; the Progressing and Available conditions including
 * progressDeadlineSeconds; old ReplicaSets pruned past revisionHistoryLimit.
 */
import { podTemplateHash } from "../names.js";
import { R, storeKey } from "../resources.js";
import { clone, nowIso, type Condition, type Deployment, type KObject, type Pod, type ReplicaSet } from "../types.js";
import type { EventRecorder } from "./events.js";
import { WorkQueue } from "./queue.js";
import { CONTROLLER_MANAGER, condition, controllerRef, omitZero, ownerRefTo, podActive, setCondition, type ControllerContext } from "./util.js";

const REVISION = "deployment.kubernetes.io/revision";
const DESIRED = "deployment.kubernetes.io/desired-replicas";
const MAX_REPLICAS = "deployment.kubernetes.io/max-replicas";
const HASH_LABEL = "pod-template-hash";

/** intstr.GetScaledValueFromIntOrPercent. */
export function scaled(value: number | string | undefined, total: number, roundUp: boolean): number {
  if (value === undefined) return 0;
  if (typeof value === "number") return value;
  const pct = Number(value.replace("%", ""));
  const raw = (pct * total) / 100;
  return roundUp ? Math.ceil(raw) : Math.floor(raw);
}

/** maxSurge and maxUnavailable as counts; both zero would stall, so unavailable becomes 1. */
export function fenceposts(d: Deployment): { maxSurge: number; maxUnavailable: number } {
  const replicas = d.spec.replicas ?? 1;
  if (d.spec.strategy?.type !== "RollingUpdate") return { maxSurge: 0, maxUnavailable: 0 };
  const ru = d.spec.strategy.rollingUpdate ?? {};
  const maxSurge = scaled(ru.maxSurge ?? "25%", replicas, true);
  let maxUnavailable = scaled(ru.maxUnavailable ?? "25%", replicas, false);
  if (maxSurge === 0 && maxUnavailable === 0) maxUnavailable = 1;
  return { maxSurge, maxUnavailable: Math.min(maxUnavailable, replicas) };
}

function revisionOf(rs: KObject): number {
  return Number(rs.metadata.annotations?.[REVISION] ?? 0) || 0;
}

function specReplicas(list: ReplicaSet[]): number {
  return list.reduce((n, rs) => n + (rs.spec.replicas ?? 0), 0);
}

function sum(list: ReplicaSet[], field: "replicas" | "readyReplicas" | "availableReplicas"): number {
  return list.reduce((n, rs) => n + (rs.status?.[field] ?? 0), 0);
}

/** The pod template without the hash label, to compare a ReplicaSet's template with the Deployment's. */
function templateWithoutHash(rs: ReplicaSet): unknown {
  const t = clone(rs.spec.template);
  if (t.metadata?.labels) {
    delete t.metadata.labels[HASH_LABEL];
  }
  return t;
}

export class DeploymentController {
  private readonly queue: WorkQueue;
  private readonly events: EventRecorder;
  private unsubscribe: () => void = () => undefined;

  constructor(private readonly ctx: ControllerContext) {
    this.queue = new WorkQueue("deployment-controller", (key) => this.sync(key), ctx.log);
    this.events = ctx.recorder("deployment-controller");
  }

  start(): void {
    this.unsubscribe = this.ctx.store.subscribe((event) => {
      if (event.resource === storeKey(R.deployments)) this.queue.add(`${event.object.metadata.namespace}/${event.object.metadata.name}`);
      if (event.resource === storeKey(R.replicasets) || event.resource === storeKey(R.pods)) {
        // Pods matter to Recreate (it waits for old pods to be gone).
        for (const obj of [event.object, event.old]) {
          if (!obj) continue;
          let ref = controllerRef(obj);
          if (ref?.kind === "ReplicaSet" && event.resource === storeKey(R.pods)) {
            const rs = this.ctx.registry.tryGet(R.replicasets, obj.metadata.namespace, ref.name);
            ref = rs ? controllerRef(rs) : undefined;
          }
          if (ref?.kind === "Deployment") this.queue.add(`${obj.metadata.namespace}/${ref.name}`);
        }
      }
    });
    for (const d of this.ctx.store.list(storeKey(R.deployments))) this.queue.add(`${d.metadata.namespace}/${d.metadata.name}`);
  }

  stop(): void {
    this.unsubscribe();
    this.queue.close();
  }

  private sync(key: string): void {
    const [namespace = "", name = ""] = key.split("/");
    const d = this.ctx.registry.tryGet(R.deployments, namespace, name) as Deployment | undefined;
    if (!d || d.metadata.deletionTimestamp) return;
    const all = this.ownedReplicaSets(d);
    const hash = podTemplateHash(d.spec.template, d.status?.collisionCount ?? 0);
    const current = all.find((rs) => rs.metadata.labels?.[HASH_LABEL] === hash && JSON.stringify(templateWithoutHash(rs)) === JSON.stringify(d.spec.template));

    if (d.spec.paused) return this.syncStatus(d, current);
    const newRS = d.spec.strategy?.type === "Recreate" ? this.rolloutRecreate(d, current, hash) : this.rolloutRolling(d, current, hash);
    this.cleanup(d, newRS);
    this.syncStatus(d, newRS);
  }

  private ownedReplicaSets(d: Deployment): ReplicaSet[] {
    return (this.ctx.store.list(storeKey(R.replicasets), d.metadata.namespace) as ReplicaSet[])
      .filter((rs) => controllerRef(rs)?.uid === d.metadata.uid && !rs.metadata.deletionTimestamp)
      .sort((a, b) => (a.metadata.creationTimestamp ?? "").localeCompare(b.metadata.creationTimestamp ?? "") || revisionOf(a) - revisionOf(b));
  }

  /** Finds or creates the ReplicaSet for the current template, keeping revision annotations right. */
  private newReplicaSet(d: Deployment, existing: ReplicaSet | undefined, hash: string, create: boolean, replicas: () => number): ReplicaSet | undefined {
    const olds = this.ownedReplicaSets(d).filter((rs) => rs !== existing && rs.metadata.uid !== existing?.metadata.uid);
    const maxOld = Math.max(0, ...olds.map(revisionOf));
    const revision = String(maxOld + 1);
    const { maxSurge } = fenceposts(d);
    const want = d.spec.replicas ?? 1;
    if (existing) {
      const updated = this.ctx.registry.mutate(R.replicasets, d.metadata.namespace, existing.metadata.name ?? "", CONTROLLER_MANAGER, (o) => {
        const ann = (o.metadata.annotations ??= {});
        let changed = false;
        if (revisionOf(o) < maxOld + 1) {
          ann[REVISION] = revision;
          changed = true;
        }
        if (ann[DESIRED] !== String(want) || ann[MAX_REPLICAS] !== String(want + maxSurge)) {
          ann[DESIRED] = String(want);
          ann[MAX_REPLICAS] = String(want + maxSurge);
          changed = true;
        }
        return changed;
      }) as ReplicaSet | undefined;
      this.setDeploymentRevision(d, updated ?? existing);
      return updated ?? existing;
    }
    if (!create) return undefined;
    const template = clone(d.spec.template);
    template.metadata = { ...(template.metadata ?? {}), labels: { ...(template.metadata?.labels ?? {}), [HASH_LABEL]: hash } };
    const selector = clone(d.spec.selector ?? {});
    selector.matchLabels = { ...(selector.matchLabels ?? {}), [HASH_LABEL]: hash };
    const count = replicas();
    const rs = {
      apiVersion: "apps/v1",
      kind: "ReplicaSet",
      metadata: {
        name: `${d.metadata.name}-${hash}`,
        namespace: d.metadata.namespace,
        labels: { ...(d.spec.template.metadata?.labels ?? {}), [HASH_LABEL]: hash },
        annotations: { [DESIRED]: String(want), [MAX_REPLICAS]: String(want + maxSurge), [REVISION]: revision },
        ownerReferences: [ownerRefTo(d)],
      },
      spec: { replicas: count, minReadySeconds: d.spec.minReadySeconds ?? 0, selector, template },
    } as unknown as ReplicaSet;
    if (this.ctx.registry.tryGet(R.replicasets, d.metadata.namespace, rs.metadata.name ?? "")) {
      // A ReplicaSet of that name with another template: bump collisionCount, the hash changes.
      this.ctx.registry.mutate(
        R.deployments,
        d.metadata.namespace,
        d.metadata.name ?? "",
        CONTROLLER_MANAGER,
        (o) => {
          const dep = o as Deployment;
          dep.status = { ...(dep.status ?? {}), collisionCount: (dep.status?.collisionCount ?? 0) + 1 };
        },
        "status",
      );
      return undefined;
    }
    const created = this.ctx.registry.createObject(R.replicasets, rs, CONTROLLER_MANAGER) as ReplicaSet;
    if (count > 0) this.events.normal(d, "ScalingReplicaSet", `Scaled up replica set ${created.metadata.name} from 0 to ${count}`);
    this.ctx.registry.mutate(
      R.deployments,
      d.metadata.namespace,
      d.metadata.name ?? "",
      CONTROLLER_MANAGER,
      (o) => {
        const dep = o as Deployment;
        const conditions = [...(dep.status?.conditions ?? [])];
        const now = nowIso();
        setCondition(
          conditions,
          {
            type: "Progressing",
            status: "True",
            lastUpdateTime: now,
            reason: "NewReplicaSetCreated",
            message: `Created new replica set "${created.metadata.name}"`,
          },
          now,
        );
        dep.status = { ...(dep.status ?? {}), conditions };
      },
      "status",
    );
    this.setDeploymentRevision(d, created);
    return created;
  }

  private setDeploymentRevision(d: Deployment, rs: ReplicaSet): void {
    const revision = rs.metadata.annotations?.[REVISION];
    if (!revision) return;
    this.ctx.registry.mutate(R.deployments, d.metadata.namespace, d.metadata.name ?? "", CONTROLLER_MANAGER, (o) => {
      if (o.metadata.annotations?.[REVISION] === revision) return false;
      o.metadata.annotations = { ...(o.metadata.annotations ?? {}), [REVISION]: revision };
      return true;
    });
  }

  private scale(d: Deployment, rs: ReplicaSet, replicas: number): ReplicaSet {
    const from = rs.spec.replicas ?? 0;
    if (from === replicas) return rs;
    const { maxSurge } = fenceposts(d);
    const want = d.spec.replicas ?? 1;
    const updated = this.ctx.registry.mutate(R.replicasets, rs.metadata.namespace, rs.metadata.name ?? "", CONTROLLER_MANAGER, (o) => {
      const r = o as ReplicaSet;
      r.spec.replicas = replicas;
      r.metadata.annotations = { ...(r.metadata.annotations ?? {}), [DESIRED]: String(want), [MAX_REPLICAS]: String(want + maxSurge) };
    }) as ReplicaSet | undefined;
    this.events.normal(d, "ScalingReplicaSet", `Scaled ${replicas > from ? "up" : "down"} replica set ${rs.metadata.name} from ${from} to ${replicas}`);
    return updated ?? rs;
  }

  private rolloutRolling(d: Deployment, existing: ReplicaSet | undefined, hash: string): ReplicaSet | undefined {
    const want = d.spec.replicas ?? 1;
    const { maxSurge, maxUnavailable } = fenceposts(d);
    const newRS = this.newReplicaSet(d, existing, hash, true, () => {
      const all = this.ownedReplicaSets(d);
      const total = specReplicas(all);
      return Math.max(0, Math.min(want + maxSurge - total, want));
    });
    if (!newRS) return undefined;

    // Scale the new ReplicaSet up within maxSurge (reconcileNewReplicaSet).
    let all = this.ownedReplicaSets(d);
    const newReplicas = newRS.spec.replicas ?? 0;
    if (newReplicas > want) {
      this.scale(d, newRS, want);
      return newRS;
    }
    if (newReplicas < want) {
      const total = specReplicas(all);
      const room = want + maxSurge - total;
      if (room > 0) {
        this.scale(d, newRS, newReplicas + Math.min(room, want - newReplicas));
        return newRS;
      }
    }

    // Scale old ReplicaSets down without going below want - maxUnavailable available pods.
    all = this.ownedReplicaSets(d);
    const fresh = all.find((rs) => rs.metadata.uid === newRS.metadata.uid) ?? newRS;
    const olds = all.filter((rs) => rs.metadata.uid !== newRS.metadata.uid);
    if (specReplicas(olds) === 0) return fresh;
    const minAvailable = want - maxUnavailable;
    const newUnavailable = (fresh.spec.replicas ?? 0) - (fresh.status?.availableReplicas ?? 0);
    const maxScaledDown = specReplicas(all) - minAvailable - newUnavailable;
    if (maxScaledDown <= 0) return fresh;
    let scaledDown = 0;
    // First the old pods that are not available anyway (cleanupUnhealthyReplicas).
    for (const rs of olds) {
      if (scaledDown >= maxScaledDown) break;
      const replicas = rs.spec.replicas ?? 0;
      const unhealthy = replicas - (rs.status?.availableReplicas ?? 0);
      if (replicas === 0 || unhealthy <= 0) continue;
      const count = Math.min(maxScaledDown - scaledDown, unhealthy);
      this.scale(d, rs, replicas - count);
      scaledDown += count;
    }
    // Then available old pods, as far as availability allows (scaleDownOldReplicaSetsForRollingUpdate).
    all = this.ownedReplicaSets(d);
    const available = sum(all, "availableReplicas");
    if (available <= minAvailable) return fresh;
    let budget = available - minAvailable;
    for (const rs of all.filter((x) => x.metadata.uid !== newRS.metadata.uid)) {
      if (budget <= 0) break;
      const replicas = rs.spec.replicas ?? 0;
      if (replicas === 0) continue;
      const count = Math.min(replicas, budget);
      this.scale(d, rs, replicas - count);
      budget -= count;
    }
    return fresh;
  }

  private rolloutRecreate(d: Deployment, existing: ReplicaSet | undefined, hash: string): ReplicaSet | undefined {
    const olds = this.ownedReplicaSets(d).filter((rs) => rs.metadata.uid !== existing?.metadata.uid);
    let scaledDown = false;
    for (const rs of olds) {
      if ((rs.spec.replicas ?? 0) > 0) {
        this.scale(d, rs, 0);
        scaledDown = true;
      }
    }
    if (scaledDown) return existing;
    // Wait until every old pod is gone (terminating ones included) before starting new ones.
    const oldUids = new Set(olds.map((rs) => rs.metadata.uid));
    const oldPods = (this.ctx.store.list(storeKey(R.pods), d.metadata.namespace) as Pod[]).filter((p) => {
      const ref = controllerRef(p);
      return ref && oldUids.has(ref.uid) && (podActive(p) || p.metadata.deletionTimestamp);
    });
    if (oldPods.length) return existing;
    const want = d.spec.replicas ?? 1;
    const newRS = this.newReplicaSet(d, existing, hash, true, () => want);
    if (newRS && (newRS.spec.replicas ?? 0) !== want) return this.scale(d, newRS, want);
    return newRS;
  }

  /** Keeps at most revisionHistoryLimit old ReplicaSets that are scaled to zero. */
  private cleanup(d: Deployment, newRS: ReplicaSet | undefined): void {
    const limit = d.spec.revisionHistoryLimit ?? 10;
    const olds = this.ownedReplicaSets(d).filter(
      (rs) => rs.metadata.uid !== newRS?.metadata.uid && (rs.spec.replicas ?? 0) === 0 && (rs.status?.replicas ?? 0) === 0,
    );
    const excess = olds.length - limit;
    if (excess <= 0) return;
    for (const rs of [...olds].sort((a, b) => revisionOf(a) - revisionOf(b)).slice(0, excess)) {
      this.ctx.registry.delete(R.replicasets, rs.metadata.namespace, rs.metadata.name ?? "", { propagationPolicy: "Background" });
    }
  }

  private syncStatus(d: Deployment, newRS: ReplicaSet | undefined): void {
    const all = this.ownedReplicaSets(d);
    const fresh = newRS ? all.find((rs) => rs.metadata.uid === newRS.metadata.uid) : undefined;
    const want = d.spec.replicas ?? 1;
    const { maxUnavailable } = fenceposts(d);
    const replicas = sum(all, "replicas");
    const updated = fresh?.status?.replicas ?? 0;
    const ready = sum(all, "readyReplicas");
    const available = sum(all, "availableReplicas");
    const unavailable = Math.max(0, specReplicas(all) - available);
    let requeueMs: number | undefined;

    this.ctx.registry.mutate(
      R.deployments,
      d.metadata.namespace,
      d.metadata.name ?? "",
      CONTROLLER_MANAGER,
      (o) => {
        const dep = o as Deployment;
        const old = dep.status ?? {};
        const conditions: Condition[] = clone(old.conditions ?? []);
        const now = nowIso();
        const availableOk = available >= want - maxUnavailable;
        setCondition(
          conditions,
          availableOk
            ? { type: "Available", status: "True", lastUpdateTime: now, reason: "MinimumReplicasAvailable", message: "Deployment has minimum availability." }
            : {
                type: "Available",
                status: "False",
                lastUpdateTime: now,
                reason: "MinimumReplicasUnavailable",
                message: "Deployment does not have minimum availability.",
              },
          now,
        );
        const rsName = fresh?.metadata.name ?? "";
        const progressing = condition(conditions, "Progressing");
        const complete =
          fresh !== undefined &&
          updated === want &&
          replicas === want &&
          available === want &&
          all.filter((rs) => rs !== fresh).every((rs) => (rs.status?.replicas ?? 0) === 0);
        const madeProgress =
          updated > (old.updatedReplicas ?? 0) ||
          replicas < (old.replicas ?? 0) ||
          ready > (old.readyReplicas ?? 0) ||
          available > (old.availableReplicas ?? 0);
        const deadline = (d.spec.progressDeadlineSeconds ?? 600) * 1000;
        if (d.spec.paused) {
          // A paused rollout never times out.
        } else if (complete && fresh) {
          if (progressing?.reason !== "NewReplicaSetAvailable" || progressing.message !== `ReplicaSet "${rsName}" has successfully progressed.`) {
            upsertProgressing(
              conditions,
              {
                type: "Progressing",
                status: "True",
                lastUpdateTime: now,
                reason: "NewReplicaSetAvailable",
                message: `ReplicaSet "${rsName}" has successfully progressed.`,
              },
              now,
            );
          }
        } else if (fresh && (madeProgress || !progressing || (progressing.reason === "NewReplicaSetAvailable" && !complete))) {
          upsertProgressing(
            conditions,
            { type: "Progressing", status: "True", lastUpdateTime: now, reason: "ReplicaSetUpdated", message: `ReplicaSet "${rsName}" is progressing.` },
            now,
          );
          requeueMs = deadline;
        } else if (fresh && progressing && progressing.reason !== "ProgressDeadlineExceeded") {
          const since = Date.parse(progressing.lastUpdateTime ?? progressing.lastTransitionTime ?? now);
          if (since + deadline <= Date.now()) {
            upsertProgressing(
              conditions,
              {
                type: "Progressing",
                status: "False",
                lastUpdateTime: now,
                reason: "ProgressDeadlineExceeded",
                message: `ReplicaSet "${rsName}" has timed out progressing.`,
              },
              now,
            );
          } else requeueMs = since + deadline - Date.now() + 50;
        }
        const status = omitZero({
          observedGeneration: dep.metadata.generation,
          replicas,
          updatedReplicas: updated,
          readyReplicas: ready,
          availableReplicas: available,
          unavailableReplicas: unavailable,
          conditions,
          ...(old.collisionCount ? { collisionCount: old.collisionCount } : {}),
        }) as Deployment["status"];
        if (JSON.stringify(status) === JSON.stringify(old)) return false;
        dep.status = status;
        return true;
      },
      "status",
    );
    if (requeueMs !== undefined) this.queue.addAfter(`${d.metadata.namespace}/${d.metadata.name}`, requeueMs);
  }
}

/** Progressing keeps its lastTransitionTime while it stays True, but lastUpdateTime moves on progress. */
function upsertProgressing(conditions: Condition[], next: Condition, now: string): void {
  const i = conditions.findIndex((c) => c.type === "Progressing");
  const existing = conditions[i];
  const merged: Condition = { ...next, lastTransitionTime: existing && existing.status === next.status ? existing.lastTransitionTime : now };
  if (i >= 0) conditions[i] = merged;
  else conditions.push(merged);
}
