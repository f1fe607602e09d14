/**
 * How a `mlkube dev` session ends: its exit status and the one line it prints. The line counts
 * only what happened: an iteration stopped by the quit is "interrupted", never "ok" or "failed",
 * and edit-to-verified is the time of the last iteration that was verified.
 */
import type { DevState, Stage } from "../../core/dev/state.js";

/** What asked the session to end: the `q` key, the Ctrl-C key (raw mode), or a signal. */
export type EndRequest = "q" | "ctrl-c" | "SIGINT" | "SIGTERM";

export interface SessionEnd {
  request: EndRequest;
  /** A second request cut the orderly shutdown short. */
  forced: boolean;
  /** The iteration that was running when the session was asked to end. */
  interrupted?: RunningIteration | undefined;
  cleanedUp: boolean;
}

export interface RunningIteration {
  id: number;
  stage: Stage | undefined;
}

/**
 * 128 + the signal's number, as shells report a program a signal ended: a script that runs
 * `mlkube dev` can tell an interrupted session (130 for SIGINT or Ctrl-C, 143 for SIGTERM) from
 * one the user quit with `q` (0).
 */
export function exitStatus(request: EndRequest): number {
  switch (request) {
    case "q":
      return 0;
    case "ctrl-c":
    case "SIGINT":
      return 130;
    case "SIGTERM":
      return 143;
  }
}

/** The iteration still running in `state`, if any, and its stage. */
export function runningIteration(state: DevState): RunningIteration | undefined {
  const current = state.current;
  if (!current || current.result !== undefined) return undefined;
  return { id: current.id, stage: current.stages.find((entry) => entry.status === "running")?.stage };
}

const HOW: Record<EndRequest, string> = {
  q: "quit",
  "ctrl-c": "interrupted (Ctrl-C)",
  SIGINT: "interrupted (SIGINT)",
  SIGTERM: "terminated (SIGTERM)",
};

export function summaryLine(state: DevState, end: SessionEnd): string {
  const runs = state.history;
  const interrupted = end.interrupted;
  const interruptedRun = interrupted && runs.find((run) => run.id === interrupted.id);
  // The quit stops the running iteration as "cancelled"; after a forced exit it never finished.
  const wasInterrupted = interrupted !== undefined && (interruptedRun === undefined || interruptedRun.result === "cancelled");
  const count = runs.length + (wasInterrupted && interruptedRun === undefined ? 1 : 0);
  const ok = runs.filter((run) => run.result === "success").length;
  const failed = runs.filter((run) => run.result === "failed").length;
  const superseded = runs.filter((run) => run.result === "cancelled" && run.id !== interrupted?.id).length;

  const parts: string[] = [];
  const where = wasInterrupted
    ? ` during #${interrupted.id}${interrupted.stage ? ` ${interrupted.stage}` : ""}`
    : state.cluster.status === "starting"
      ? " while the cluster was starting"
      : "";
  if (end.request !== "q" || end.forced || where) parts.push(`${HOW[end.request]}${where}${end.forced ? ", forced out before the shutdown finished" : ""}`);
  let counts = `${count} iteration(s), ${ok} ok, ${failed} failed`;
  if (superseded > 0) counts += `, ${superseded} cancelled by newer changes`;
  if (wasInterrupted) counts += ", 1 interrupted";
  parts.push(counts);
  // Verified: rolled out and answered smoke tests; a success without any tests was only deployed.
  const verified = runs.findLast((run) => run.result === "success" && run.testsPassed > 0);
  parts.push(verified ? `last edit-to-verified ${(verified.totalMs / 1000).toFixed(1)} s (#${verified.id})` : "nothing verified yet");
  if (state.problem) parts.push(`last problem: ${state.problem.message}`);
  if (state.serving && !end.cleanedUp) parts.push(keepsRunning(state.model.name, state.cluster.info));
  if (end.cleanedUp) parts.push("the model's objects were deleted (--cleanup)");
  return `mlkube dev: ${parts.join("; ")}`;
}

/** What stays of the model after mlkube: not a tunnel's or port-forward's URL, which ended with mlkube. */
function keepsRunning(name: string, info: DevState["cluster"]["info"]): string {
  const down = "('mlkube down' removes the cluster)";
  if (!info?.endpoint) return `${name} keeps running ${down}`;
  if (info.endpointVia === "tunnel" || info.endpointVia === "port-forward")
    return `${name} keeps running ${down}, but not at ${info.endpoint}: that ${info.endpointVia} closed with mlkube`;
  return `${name} keeps running at ${info.endpoint} ${down}`;
}
