/**
 * Production replica counts, scaled to what the local cluster can schedule: the scheduler places a
 * pod only where its requests fit, so replicas that do not fit would sit Pending and the rollout
 * would never finish. Limits are never changed: they decide OOM kills and CPU throttling, which
 * is what a reproduction is for.
 */
import { formatCpu, formatMemory, parseQuantity } from "./quantity.js";
import type { Substitution } from "./substitution.js";
import { describeObject, isRecord, recordAt, type JsonRecord, type KubeObject } from "../manifests/types.js";
import { containersOf } from "../manifests/workloads.js";

export interface LocalCapacity {
  /** What the model's pods may request in all: allocatable minus what other pods request. */
  cpuCores: number;
  memoryBytes: number;
  /** Where the numbers come from, for the messages: "the local cluster (1 node)", "this machine". */
  source: string;
}

/** Kinds whose spec.replicas sets how many pods run. */
const SCALABLE_KINDS = new Set(["Deployment", "StatefulSet", "ReplicaSet", "ReplicationController"]);

interface FitResult {
  substitutions: Substitution[];
  /** Decisions that kept production's value, said out loud all the same. */
  kept: string[];
}

/** Scales each workload's replicas (in manifest order) to what still fits; edits the objects. */
export function fitReplicas(objects: readonly KubeObject[], capacity: LocalCapacity): FitResult {
  const substitutions: Substitution[] = [];
  const kept: string[] = [];
  let free = { cpu: capacity.cpuCores, memory: capacity.memoryBytes };
  const has = () => `${capacity.source} has ${formatCpu(roundCpu(free.cpu))} CPU and ${formatMemory(free.memory)} memory free`;

  for (const object of objects.filter((candidate) => SCALABLE_KINDS.has(candidate.kind))) {
    const spec = recordAt(object, "spec");
    if (spec === undefined) continue;
    const written = typeof spec.replicas === "number" ? spec.replicas : 1;
    const name = describeObject(object);
    if (written === 0) continue;
    const pod = podRequests(object);
    const each = `each pod requests ${formatCpu(roundCpu(pod.cpu))} CPU and ${formatMemory(pod.memory)} memory`;
    const fit = Math.min(pod.cpu > 0 ? Math.floor(free.cpu / pod.cpu + 1e-9) : Infinity, pod.memory > 0 ? Math.floor(free.memory / pod.memory) : Infinity);

    if (fit === Infinity) {
      kept.push(`${name}: replicas ${written} kept (its pods request no CPU or memory, so the scheduler places them all)`);
      continue;
    }
    if (fit >= written) {
      kept.push(`${name}: replicas ${written} kept (all fit: ${each}; ${has()})`);
    } else if (fit >= 1) {
      substitutions.push({ object: name, setting: "replicas", production: String(written), local: String(fit), why: `${fit} fit: ${each}; ${has()}` });
      spec.replicas = fit;
    } else {
      substitutions.push(...lowerRequests(object, pod, free, capacity.source));
      if (written !== 1)
        substitutions.push({
          object: name,
          setting: "replicas",
          production: String(written),
          local: "1",
          why: `not even one pod fits as written: ${each}; ${has()}`,
        });
      spec.replicas = 1;
      free = { cpu: 0, memory: 0 };
      continue;
    }
    const placed = Math.min(fit, written);
    free = { cpu: free.cpu - placed * pod.cpu, memory: free.memory - placed * pod.memory };
  }
  return { substitutions, kept };
}

/** What one pod requests: each container's request, or its limit when it sets none (as the API defaults it). */
function podRequests(object: KubeObject): { cpu: number; memory: number } {
  let cpu = 0;
  let memory = 0;
  for (const { container } of containersOf(object)) {
    cpu += requestOf(container, "cpu") ?? 0;
    memory += requestOf(container, "memory") ?? 0;
  }
  return { cpu, memory };
}

function requestOf(container: JsonRecord, resource: "cpu" | "memory"): number | undefined {
  const resources = recordAt(container, "resources");
  return parseQuantity(recordAt(resources, "requests")?.[resource]) ?? parseQuantity(recordAt(resources, "limits")?.[resource]);
}

/**
 * A pod bigger than the whole local cluster would stay Pending forever; its requests are scaled
 * down so that one replica fits, and the limits stay (a request above the limit is invalid, so
 * lowering requests never conflicts with them).
 */
function lowerRequests(object: KubeObject, pod: { cpu: number; memory: number }, free: { cpu: number; memory: number }, source: string): Substitution[] {
  const rows: Substitution[] = [];
  const ratios = {
    cpu: pod.cpu > free.cpu ? Math.max(free.cpu, 0) / pod.cpu : 1,
    memory: pod.memory > free.memory ? Math.max(free.memory, 0) / pod.memory : 1,
  };
  for (const { container } of containersOf(object)) {
    for (const resource of ["cpu", "memory"] as const) {
      const request = requestOf(container, resource);
      if (request === undefined || ratios[resource] >= 1) continue;
      const lowered =
        resource === "cpu"
          ? Math.max(0.001, Math.floor(request * ratios[resource] * 1000) / 1000)
          : Math.max(2 ** 20, Math.floor((request * ratios[resource]) / 2 ** 20) * 2 ** 20);
      const resources = (container.resources = isRecord(container.resources) ? container.resources : {}) as JsonRecord;
      const requests = (resources.requests = isRecord(resources.requests) ? resources.requests : {}) as JsonRecord;
      const format = resource === "cpu" ? formatCpu : formatMemory;
      requests[resource] = format(lowered);
      rows.push({
        object: describeObject(object),
        setting: `container ${String(container.name)}: requests.${resource}`,
        production: format(resource === "cpu" ? roundCpu(request) : request),
        local: format(lowered),
        why: `one pod requests more than ${source} has; limits are kept, they decide OOM kills and CPU throttling`,
      });
    }
  }
  return rows;
}

function roundCpu(cores: number): number {
  return Math.round(cores * 1000) / 1000;
}
