/**
 * While the pods run files the image lacks (live update), checks every interval that each pod of
 * the model still runs them: a restarted or replaced pod starts from the image, and the loop must
 * rebuild rather than let it serve the old version quietly (issue #11, "no silent drift").
 */
import type { DevAction, DevState } from "../core/dev/state.js";
import { driftReason, type PodRun } from "../core/live/drift.js";
import type { Store } from "./store.js";

export function startLiveMonitor(
  store: Store<DevState, DevAction>,
  /** The model's current pods (not terminating) with their model container's restart count; undefined before the first rollout. */
  listPods: () => Promise<PodRun[] | undefined>,
  options: { intervalMs?: number; now?: () => number } = {},
): { stop(): void } {
  const intervalMs = options.intervalMs ?? 2_000;
  const now = options.now ?? (() => Date.now());
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;

  const check = async () => {
    if (!worthChecking(store.getState())) return;
    // A failed listing (the cluster is away) is the health monitor's to report.
    const pods = await listPods().catch(() => undefined);
    const state = store.getState();
    if (stopped || !pods || !worthChecking(state)) return;
    const reason = driftReason(state.live.pods, pods, state.live.ahead);
    if (reason) store.dispatch({ type: "live/drifted", reason, at: now() });
  };
  const loop = () => {
    timer = setTimeout(() => {
      void check().finally(() => {
        if (!stopped) loop();
      });
    }, intervalMs);
  };
  loop();
  return {
    stop: () => {
      stopped = true;
      clearTimeout(timer);
    },
  };
}

/** Only synced pods can drift, and a running iteration changes the pods on purpose (a rollout settles what is ahead). */
function worthChecking(state: DevState): boolean {
  const iterationRunning = state.current !== undefined && state.current.result === undefined;
  return state.live.ahead.length > 0 && state.live.pods.length > 0 && !iterationRunning;
}
