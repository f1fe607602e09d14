/**
 * Nodes start NotReady, tainted node.kubernetes.io/not-ready:NoSchedule, as a kubelet registers
 * its node before the network plugin is up; after `timing.nodeReadyAfterMs` each node turns Ready
 * and the taint goes (the kubelet's status update and the node lifecycle controller's taint
 * removal, in one write here). The scheduler retries pending pods on the node change.
 */
import { NODE_READY, NOT_READY_TAINT } from "../bootstrap.js";
import { R, storeKey } from "../resources.js";
import { clone, nowIso, type NodeObject } from "../types.js";
import { CONTROLLER_MANAGER, setCondition, type ControllerContext } from "./util.js";

export class NodeReadiness {
  private timer?: NodeJS.Timeout;

  constructor(private readonly ctx: ControllerContext) {}

  start(): void {
    if (this.ctx.timing.nodeReadyAfterMs <= 0) return;
    this.timer = setTimeout(() => this.markReady(), this.ctx.timing.nodeReadyAfterMs);
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
  }

  private markReady(): void {
    for (const node of this.ctx.store.list(storeKey(R.nodes)) as NodeObject[]) {
      const name = node.metadata.name ?? "";
      // The kubelet's status update first, then the lifecycle controller lifts the taint (as in a real cluster).
      this.ctx.registry.mutate(
        R.nodes,
        undefined,
        name,
        "kubelet",
        (object) => {
          const current = object as NodeObject;
          const conditions = clone(current.status.conditions ?? []);
          if (!setCondition(conditions, { type: "Ready", status: "True", reason: NODE_READY.reason, message: NODE_READY.message }, nowIso())) return false;
          current.status.conditions = conditions;
          return true;
        },
        "status",
      );
      this.ctx.registry.mutate(R.nodes, undefined, name, CONTROLLER_MANAGER, (object) => {
        const spec = (object as NodeObject).spec;
        const taints = spec?.taints ?? [];
        const kept = taints.filter((taint) => taint.key !== NOT_READY_TAINT.key);
        if (!spec || kept.length === taints.length) return false;
        if (kept.length > 0) spec.taints = kept;
        else delete spec.taints;
        return true;
      });
      this.ctx.log(`node ${name} is Ready`);
    }
  }
}
