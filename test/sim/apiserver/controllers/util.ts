/** Small helpers shared by the controllers. */
import type { Registry } from "../registry.js";
import type { Store } from "../store.js";
import type { Timing } from "../timing.js";
import type { Condition, KObject, OwnerReference, Pod } from "../types.js";
import type { EventRecorder } from "./events.js";

export interface ControllerContext {
  registry: Registry;
  store: Store;
  timing: Timing;
  log: (line: string) => void;
  recorder(component: string, host?: string): EventRecorder;
}

export const CONTROLLER_MANAGER = "kube-controller-manager";

export function controllerRef(obj: KObject): OwnerReference | undefined {
  return obj.metadata.ownerReferences?.find((o) => o.controller);
}

export function ownerRefTo(owner: KObject): OwnerReference {
  return {
    apiVersion: owner.apiVersion ?? "",
    kind: owner.kind ?? "",
    name: owner.metadata.name ?? "",
    uid: owner.metadata.uid ?? "",
    controller: true,
    blockOwnerDeletion: true,
  };
}

export function condition(conditions: Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

export function podReady(pod: Pod): boolean {
  return condition(pod.status?.conditions, "Ready")?.status === "True";
}

/** Active pods count toward a ReplicaSet: not terminating, not finished. */
export function podActive(pod: Pod): boolean {
  const phase = pod.status?.phase;
  return !pod.metadata.deletionTimestamp && phase !== "Succeeded" && phase !== "Failed";
}

/** Ready for at least minReadySeconds (what "available" means). */
export function podAvailable(pod: Pod, minReadySeconds: number, now = Date.now()): boolean {
  if (!podReady(pod)) return false;
  if (!minReadySeconds) return true;
  const since = Date.parse(condition(pod.status?.conditions, "Ready")?.lastTransitionTime ?? "");
  return Number.isFinite(since) && since + minReadySeconds * 1000 <= now;
}

/**
 * Sets a condition, keeping lastTransitionTime unless the status flips (the rule every
 * controller follows). Returns whether anything changed.
 */
export function setCondition(conditions: Condition[], next: Condition, now: string): boolean {
  const i = conditions.findIndex((c) => c.type === next.type);
  const existing = conditions[i];
  if (existing && existing.status === next.status && existing.reason === next.reason && existing.message === next.message) return false;
  const merged: Condition = { ...next };
  merged.lastTransitionTime = existing && existing.status === next.status ? existing.lastTransitionTime : now;
  if (i >= 0) conditions[i] = merged;
  else conditions.push(merged);
  return true;
}

/** Go's `omitempty` on integer status fields: zero counts are absent on the wire, not 0. */
export function omitZero<T extends Record<string, unknown>>(status: T, keep: string[] = []): T {
  const out = { ...status };
  for (const [k, v] of Object.entries(out)) if ((v === 0 || v === undefined) && !keep.includes(k)) delete out[k];
  return out;
}
