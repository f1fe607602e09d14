/**
 * Pod status from the kubelet's per-container records: phase (kubelet's getPhase rules),
 * conditions, containerStatuses sorted by name. Pure, so the rules can be read in one place.
 */
import { setCondition } from "../controllers/util.js";
import type { Condition, ContainerStateObj, ContainerStatus, PodStatus } from "../types.js";

export interface ContainerRecord {
  name: string;
  image: string;
  imageID: string;
  restartCount: number;
  state: ContainerStateObj;
  lastState: ContainerStateObj;
  ready: boolean;
  started: boolean;
  /** containerd://... of the attempt shown in `state` (running or terminated). */
  containerID?: string;
}

export function podPhase(records: ContainerRecord[], restartPolicy: string): NonNullable<PodStatus["phase"]> {
  let waiting = 0;
  let running = 0;
  let stopped = 0;
  let succeeded = 0;
  for (const r of records) {
    if (r.state.running) running++;
    else if (r.state.terminated) {
      stopped++;
      if (r.state.terminated.exitCode === 0) succeeded++;
    } else if (r.lastState.terminated) stopped++;
    else waiting++;
  }
  if (waiting > 0) return "Pending";
  if (running > 0) return "Running";
  if (stopped > 0) {
    if (restartPolicy === "Always") return "Running";
    const allTerminated = records.every((r) => r.state.terminated);
    if (!allTerminated) return "Running";
    if (stopped === succeeded) return "Succeeded";
    if (restartPolicy === "Never") return "Failed";
    return "Running";
  }
  return "Pending";
}

export function containerStatuses(records: ContainerRecord[]): ContainerStatus[] {
  return [...records]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((r) => {
      const s: ContainerStatus = {
        name: r.name,
        state: r.state,
        lastState: r.lastState,
        ready: r.ready,
        restartCount: r.restartCount,
        image: r.image,
        imageID: r.imageID,
        started: r.started,
      };
      if (r.containerID) s.containerID = r.containerID;
      return s;
    });
}

/** Conditions the kubelet owns; PodScheduled (the scheduler's) is kept as it is. */
export function podConditions(existing: Condition[], records: ContainerRecord[], sandboxReady: boolean, now: string): Condition[] {
  const conditions = existing.map((c) => ({ ...c }));
  const unready = records.filter((r) => !r.ready).map((r) => r.name);
  const ready = unready.length === 0;
  const notReady = { reason: "ContainersNotReady", message: `containers with unready status: [${unready.join(" ")}]` };
  setCondition(conditions, { type: "PodReadyToStartContainers", status: sandboxReady ? "True" : "False", lastProbeTime: null }, now);
  setCondition(conditions, { type: "Initialized", status: "True", lastProbeTime: null }, now);
  setCondition(
    conditions,
    ready ? { type: "Ready", status: "True", lastProbeTime: null } : { type: "Ready", status: "False", lastProbeTime: null, ...notReady },
    now,
  );
  setCondition(
    conditions,
    ready ? { type: "ContainersReady", status: "True", lastProbeTime: null } : { type: "ContainersReady", status: "False", lastProbeTime: null, ...notReady },
    now,
  );
  const order = ["PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled"];
  return conditions.sort((a, b) => order.indexOf(a.type) - order.indexOf(b.type));
}
