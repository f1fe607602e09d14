/**
 * Service endpoints and kube-proxy's view of them. For every Service with a selector it keeps a
 * v1 Endpoints object (ready pods under addresses, the others under notReadyAddresses), and for
 * every NodePort/LoadBalancer Service it hands each node's runtime the NodePort rules with the
 * ready targets. Rules are pushed whenever they change (a pod became ready or unready, a Service
 * or its nodePort changed), one call at a time per node, always with the complete rule set.
 */
import type { NodePortRule, NodeRuntime } from "../../contract.js";
import { R, storeKey } from "../resources.js";
import { clone, type KObject, type Pod, type Service, type ServicePort } from "../types.js";
import { WorkQueue } from "./queue.js";
import { CONTROLLER_MANAGER, podReady, type ControllerContext } from "./util.js";

interface Target {
  pod: Pod;
  port: number;
  ready: boolean;
}

/** A Service port's targetPort on one pod: a number, or a container port looked up by name. */
export function resolveTargetPort(port: ServicePort, pod: Pod): number | undefined {
  const target = port.targetPort ?? port.port;
  if (typeof target === "number") return target;
  if (/^\d+$/.test(target)) return Number(target);
  for (const c of pod.spec.containers ?? [])
    for (const p of c.ports ?? []) if (p.name === target && (p.protocol ?? "TCP") === (port.protocol ?? "TCP")) return p.containerPort;
  return undefined;
}

function selects(svc: Service, pod: Pod): boolean {
  const selector = svc.spec.selector;
  if (!selector || !Object.keys(selector).length) return false;
  const labels = pod.metadata.labels ?? {};
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

export class EndpointsController {
  private readonly queue: WorkQueue;
  private unsubscribe: () => void = () => undefined;
  private readonly lastRules = new Map<NodeRuntime, string>();
  private readonly inFlight = new Map<NodeRuntime, Promise<void>>();
  private readonly wanted = new Map<NodeRuntime, NodePortRule[]>();
  private closed = false;

  constructor(
    private readonly ctx: ControllerContext,
    private readonly runtimes: NodeRuntime[],
  ) {
    this.queue = new WorkQueue("endpoint-controller", () => this.syncAll(), ctx.log);
  }

  start(): void {
    this.unsubscribe = this.ctx.store.subscribe((event) => {
      if (event.resource === storeKey(R.pods) || event.resource === storeKey(R.services)) this.queue.add("all");
    });
    this.queue.add("all");
  }

  async stop(): Promise<void> {
    this.closed = true;
    this.unsubscribe();
    this.queue.close();
    await Promise.allSettled([...this.inFlight.values()]);
  }

  private syncAll(): void {
    this.removeOrphans();
    const services = this.ctx.store.list(storeKey(R.services)) as Service[];
    const pods = (this.ctx.store.list(storeKey(R.pods)) as Pod[]).filter((p) => p.status?.podIP);
    const rules: NodePortRule[] = [];
    for (const svc of services) {
      if (!svc.spec.selector) continue;
      const members = pods.filter((p) => p.metadata.namespace === svc.metadata.namespace && selects(svc, p));
      const perPort = (svc.spec.ports ?? []).map((port) => ({
        port,
        targets: members.flatMap((pod): Target[] => {
          const target = resolveTargetPort(port, pod);
          return target === undefined ? [] : [{ pod, port: target, ready: podReady(pod) && !pod.metadata.deletionTimestamp }];
        }),
      }));
      this.writeEndpoints(svc, perPort);
      if (svc.spec.type === "NodePort" || svc.spec.type === "LoadBalancer") {
        for (const { port, targets } of perPort) {
          if (!port.nodePort) continue;
          rules.push({
            nodePort: port.nodePort,
            protocol: port.protocol === "UDP" ? "UDP" : "TCP",
            targets: targets
              .filter((t) => t.ready)
              .map((t) => ({ ip: t.pod.status?.podIP ?? "", port: t.port }))
              .sort((a, b) => a.ip.localeCompare(b.ip) || a.port - b.port),
          });
        }
      }
    }
    rules.sort((a, b) => a.nodePort - b.nodePort || a.protocol.localeCompare(b.protocol));
    for (const runtime of this.runtimes) this.pushRules(runtime, rules);
  }

  /** Endpoints subsets grouped by port set, as the real controller packs them. */
  private writeEndpoints(svc: Service, perPort: { port: ServicePort; targets: Target[] }[]): void {
    const byPod = new Map<string, { pod: Pod; ready: boolean; ports: { name?: string; port: number; protocol: string }[] }>();
    for (const { port, targets } of perPort) {
      for (const t of targets) {
        const uid = t.pod.metadata.uid ?? "";
        const entry = byPod.get(uid) ?? { pod: t.pod, ready: t.ready, ports: [] };
        entry.ports.push({ ...(port.name ? { name: port.name } : {}), port: t.port, protocol: port.protocol ?? "TCP" });
        byPod.set(uid, entry);
      }
    }
    const subsets = new Map<string, { addresses: unknown[]; notReadyAddresses: unknown[]; ports: unknown[] }>();
    for (const { pod, ready, ports } of [...byPod.values()].sort((a, b) => (a.pod.status?.podIP ?? "").localeCompare(b.pod.status?.podIP ?? ""))) {
      const key = JSON.stringify(ports);
      const subset = subsets.get(key) ?? { addresses: [], notReadyAddresses: [], ports };
      const address = {
        ip: pod.status?.podIP,
        nodeName: pod.spec.nodeName,
        targetRef: { kind: "Pod", namespace: pod.metadata.namespace, name: pod.metadata.name, uid: pod.metadata.uid },
      };
      (ready ? subset.addresses : subset.notReadyAddresses).push(address);
      subsets.set(key, subset);
    }
    const wire = [...subsets.values()].map((s) => {
      const out: Record<string, unknown> = { ports: s.ports };
      if (s.addresses.length) out.addresses = s.addresses;
      if (s.notReadyAddresses.length) out.notReadyAddresses = s.notReadyAddresses;
      return out;
    });
    const namespace = svc.metadata.namespace ?? "";
    const name = svc.metadata.name ?? "";
    const existing = this.ctx.registry.tryGet(R.endpoints, namespace, name);
    if (!existing) {
      const body = {
        apiVersion: "v1",
        kind: "Endpoints",
        metadata: { name, namespace, labels: clone(svc.metadata.labels ?? {}) },
        ...(wire.length ? { subsets: wire } : {}),
      } as KObject;
      this.ctx.registry.createObject(R.endpoints, body, CONTROLLER_MANAGER);
      return;
    }
    this.ctx.registry.mutate(R.endpoints, namespace, name, CONTROLLER_MANAGER, (o) => {
      if (JSON.stringify(o.subsets ?? []) === JSON.stringify(wire)) return false;
      if (wire.length) o.subsets = wire;
      else delete o.subsets;
      return true;
    });
  }

  /** Latest rules win: a push that is in flight is followed by one more with the newest set. */
  private pushRules(runtime: NodeRuntime, rules: NodePortRule[]): void {
    const text = JSON.stringify(rules);
    if (this.lastRules.get(runtime) === text) return;
    this.lastRules.set(runtime, text);
    this.wanted.set(runtime, rules);
    if (this.inFlight.has(runtime)) return;
    const run = async (): Promise<void> => {
      while (!this.closed && this.wanted.has(runtime)) {
        const next = this.wanted.get(runtime) ?? [];
        this.wanted.delete(runtime);
        try {
          await runtime.syncNodePorts(next);
        } catch (err) {
          this.ctx.log(`syncNodePorts on ${runtime.node.name} failed: ${(err as Error).message}; retrying`);
          this.lastRules.delete(runtime);
          await new Promise((resolve) => setTimeout(resolve, 1000));
          if (!this.wanted.has(runtime)) this.wanted.set(runtime, next);
        }
      }
      this.inFlight.delete(runtime);
    };
    this.inFlight.set(runtime, run());
  }

  /** Services that were deleted take their Endpoints with them. */
  removeOrphans(): void {
    for (const ep of this.ctx.store.list(storeKey(R.endpoints))) {
      if (!this.ctx.registry.tryGet(R.services, ep.metadata.namespace, ep.metadata.name ?? ""))
        this.ctx.registry.removeNow(R.endpoints, ep.metadata.namespace, ep.metadata.name ?? "");
    }
  }
}
