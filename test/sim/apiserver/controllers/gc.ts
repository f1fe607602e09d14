/**
 * The garbage collector and the namespace controller.
 *
 * GC follows ownerReferences: when an owner is gone, dependents that have no other live owner are
 * deleted (background propagation, the default for apps/v1); an owner deleted with
 * propagationPolicy=Foreground keeps a `foregroundDeletion` finalizer until its dependents are
 * gone; with Orphan it keeps an `orphan` finalizer until its dependents no longer point at it.
 *
 * A namespace being deleted is emptied (pods terminate gracefully), then removed.
 */
import { RESOURCES, R, storeKey, type ResourceDef } from "../resources.js";
import type { StoreEvent } from "../store.js";
import type { KObject } from "../types.js";
import { WorkQueue } from "./queue.js";
import { CONTROLLER_MANAGER, type ControllerContext } from "./util.js";

const GC = "generic-garbage-collector";

export class GarbageCollector {
  private readonly queue: WorkQueue;
  private unsubscribe: () => void = () => undefined;
  /** uid -> where the object lives, for every object in the store. */
  private readonly byUid = new Map<string, { r: ResourceDef; namespace?: string; name: string }>();

  constructor(private readonly ctx: ControllerContext) {
    this.queue = new WorkQueue("garbage-collector", (key) => this.sync(key), ctx.log);
  }

  start(): void {
    for (const r of RESOURCES) for (const o of this.ctx.store.list(storeKey(r))) this.index(r, o);
    this.unsubscribe = this.ctx.store.subscribe((event) => this.onEvent(event));
    this.queue.add("namespaces");
  }

  stop(): void {
    this.unsubscribe();
    this.queue.close();
  }

  private index(r: ResourceDef, o: KObject): void {
    if (o.metadata.uid) this.byUid.set(o.metadata.uid, { r, namespace: o.metadata.namespace, name: o.metadata.name ?? "" });
  }

  private onEvent(event: StoreEvent): void {
    const r = RESOURCES.find((x) => storeKey(x) === event.resource);
    if (!r) return;
    const uid = event.object.metadata.uid ?? "";
    if (event.type === "DELETED") {
      this.byUid.delete(uid);
      this.queue.add(`dependents/${uid}`);
    } else this.index(r, event.object);
    // A dependent changed or went away: its owners may be waiting on it (foreground, orphan).
    for (const ref of [...(event.object.metadata.ownerReferences ?? []), ...(event.old?.metadata.ownerReferences ?? [])]) this.queue.add(`owner/${ref.uid}`);
    // A new dependent of an owner that is already gone is garbage right away.
    if (event.type === "ADDED" && event.object.metadata.ownerReferences?.length) this.queue.add(`orphan/${uid}`);
    const finalizers = event.object.metadata.finalizers ?? [];
    if (event.object.metadata.deletionTimestamp && (finalizers.includes("foregroundDeletion") || finalizers.includes("orphan"))) this.queue.add(`owner/${uid}`);
    if (r === R.namespaces || (r.namespaced && event.type === "DELETED")) this.queue.add("namespaces");
  }

  private dependentsOf(uid: string): { r: ResourceDef; obj: KObject }[] {
    const out: { r: ResourceDef; obj: KObject }[] = [];
    for (const r of RESOURCES) {
      for (const obj of this.ctx.store.list(storeKey(r))) if (obj.metadata.ownerReferences?.some((o) => o.uid === uid)) out.push({ r, obj });
    }
    return out;
  }

  private sync(key: string): void {
    const [kind, uid = ""] = key.split(/\/(.*)/s) as [string, string];
    if (kind === "dependents") this.collectDependents(uid);
    else if (kind === "owner") this.finishOwner(uid);
    else if (kind === "orphan") this.checkOrphan(uid);
    else if (kind === "namespaces") this.syncNamespaces();
  }

  /** The owner is gone: delete dependents it was the last live owner of, unlink the rest. */
  private collectDependents(ownerUid: string): void {
    for (const { r, obj } of this.dependentsOf(ownerUid)) {
      const others = (obj.metadata.ownerReferences ?? []).filter((o) => o.uid !== ownerUid && this.byUid.has(o.uid));
      if (others.length) {
        this.ctx.registry.mutate(r, obj.metadata.namespace, obj.metadata.name ?? "", GC, (o) => {
          o.metadata.ownerReferences = (o.metadata.ownerReferences ?? []).filter((ref) => ref.uid !== ownerUid);
        });
      } else if (!obj.metadata.deletionTimestamp) {
        this.deleteQuietly(r, obj, "Background");
      }
    }
  }

  private checkOrphan(uid: string): void {
    const where = this.byUid.get(uid);
    if (!where) return;
    const obj = this.ctx.registry.tryGet(where.r, where.namespace, where.name);
    if (!obj || obj.metadata.deletionTimestamp) return;
    const refs = obj.metadata.ownerReferences ?? [];
    if (refs.length && refs.every((ref) => !this.byUid.has(ref.uid))) this.deleteQuietly(where.r, obj, "Background");
  }

  /** An owner held by foregroundDeletion or orphan: finish once its dependents allow it. */
  private finishOwner(uid: string): void {
    const where = this.byUid.get(uid);
    if (!where) return;
    const owner = this.ctx.registry.tryGet(where.r, where.namespace, where.name);
    if (!owner?.metadata.deletionTimestamp) return;
    const finalizers = owner.metadata.finalizers ?? [];
    const dependents = this.dependentsOf(uid);
    if (finalizers.includes("orphan")) {
      for (const { r, obj } of dependents) {
        this.ctx.registry.mutate(r, obj.metadata.namespace, obj.metadata.name ?? "", GC, (o) => {
          o.metadata.ownerReferences = (o.metadata.ownerReferences ?? []).filter((ref) => ref.uid !== uid);
          if (!o.metadata.ownerReferences.length) delete o.metadata.ownerReferences;
        });
      }
      this.removeFinalizer(where.r, owner, "orphan");
      return;
    }
    if (finalizers.includes("foregroundDeletion")) {
      for (const { r, obj } of dependents) if (!obj.metadata.deletionTimestamp) this.deleteQuietly(r, obj, "Foreground");
      if (dependents.length === 0) this.removeFinalizer(where.r, owner, "foregroundDeletion");
    }
  }

  private removeFinalizer(r: ResourceDef, owner: KObject, finalizer: string): void {
    this.ctx.registry.mutate(r, owner.metadata.namespace, owner.metadata.name ?? "", GC, (o) => {
      o.metadata.finalizers = (o.metadata.finalizers ?? []).filter((f) => f !== finalizer);
      if (!o.metadata.finalizers.length) delete o.metadata.finalizers;
    });
  }

  private deleteQuietly(r: ResourceDef, obj: KObject, propagationPolicy: "Background" | "Foreground"): void {
    try {
      this.ctx.registry.delete(r, obj.metadata.namespace, obj.metadata.name ?? "", { propagationPolicy, preconditions: { uid: obj.metadata.uid } });
    } catch (err) {
      this.ctx.log(`gc: delete ${r.plural} ${obj.metadata.namespace}/${obj.metadata.name}: ${(err as Error).message}`);
    }
  }

  /** Terminating namespaces: delete what is in them; remove them once empty. */
  private syncNamespaces(): void {
    for (const ns of this.ctx.store.list(storeKey(R.namespaces))) {
      if (!ns.metadata.deletionTimestamp) continue;
      const name = ns.metadata.name ?? "";
      let remaining = 0;
      for (const r of RESOURCES.filter((x) => x.namespaced)) {
        for (const obj of this.ctx.store.list(storeKey(r), name)) {
          remaining++;
          if (!obj.metadata.deletionTimestamp) this.deleteQuietly(r, obj, "Background");
          else if (obj.metadata.finalizers?.length && r !== R.pods) {
            // Finalizers nobody in the simulator will remove would hold the namespace forever.
            this.ctx.registry.mutate(r, name, obj.metadata.name ?? "", CONTROLLER_MANAGER, (o) => {
              delete o.metadata.finalizers;
            });
          }
        }
      }
      if (remaining === 0) this.ctx.registry.removeNow(R.namespaces, undefined, name);
    }
  }
}
