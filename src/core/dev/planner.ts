/**
 * Deciding what to do next is a pure function of the state (Tilt's build control): either the
 * next iteration to start, an iteration to cancel, or a reason to hold that the UI can show.
 */
import { isEmpty, type ChangeSet } from "./changes.js";
import { planLiveRoute } from "../live/route.js";
import { outageReason, type DevState, type Route, type Stage } from "./state.js";

type NextStep =
  | { kind: "start"; changes: ChangeSet; stages: Stage[]; route?: Route | undefined }
  | { kind: "cancel"; id: number; reason: string }
  | { kind: "hold"; reason: string }
  | { kind: "idle" };

export interface PlannerOptions {
  /** A change arriving during a build aborts that build and starts over (dev.abortBuildOnChange). */
  abortBuildOnChange: boolean;
}

export function nextStep(state: DevState, options: PlannerOptions): NextStep {
  if (state.quitting) return { kind: "idle" };
  const pending = state.pending;
  if (isEmpty(pending)) return { kind: "idle" };
  const outage = outageReason(state.health);
  if (outage) return { kind: "hold", reason: `waiting: ${outage}; ${heldUntil(state)}` };
  if (state.cluster.status !== "ready") {
    const retry = state.cluster.retry;
    if (state.cluster.status === "starting")
      return {
        kind: "hold",
        reason: retry ? `waiting: the cluster is starting (attempt ${retry.attempt + 1}; the last one failed, see the error)` : "waiting: cluster not ready",
      };
    return {
      kind: "hold",
      reason: retry
        ? `waiting: the cluster is not available (see the error); attempt ${retry.attempt + 1} in ${Math.round(retry.delayMs / 1000)} s`
        : "waiting: the cluster is not available (see the error); restart mlkube dev once it is fixed",
    };
  }
  if (state.paused) return { kind: "hold", reason: "paused: changes are queued; press p to resume" };

  const running = state.current && state.current.result === undefined ? state.current : undefined;
  if (running) {
    const building = running.stages.some((stage) => stage.stage === "build" && stage.status === "running");
    if (building && options.abortBuildOnChange && (pending.build || pending.config || pending.force)) {
      return { kind: "cancel", id: running.id, reason: "newer changes arrived during the build" };
    }
    return { kind: "hold", reason: `queued: runs after iteration #${running.id}` };
  }
  const route = planLiveRoute(pending, state);
  return { kind: "start", changes: pending, stages: route?.kind === "sync" ? ["sync", "test"] : stagesFor(pending), route };
}

function heldUntil(state: DevState): string {
  if (state.health.cluster.status !== "deleted") return "changes are held and run when it is back";
  switch (state.health.recreate) {
    case "auto":
      return "re-creating it (--yes)";
    case "offer":
      return "press y to re-create it";
    case "explain":
      return "run 'mlkube up' in another terminal, or restart with 'mlkube dev --yes' to re-create it";
  }
}

export function stagesFor(changes: ChangeSet): Stage[] {
  const stages: Stage[] = [];
  if (changes.config) stages.push("config");
  if (changes.build || changes.config || changes.force) stages.push("build", "deliver");
  if (stages.includes("build") || changes.manifests) stages.push("apply", "rollout");
  stages.push("test");
  return stages;
}
