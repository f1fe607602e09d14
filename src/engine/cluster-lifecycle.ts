/**
 * Brings the cluster up for the dev loop (at start, and again after it was deleted), retrying
 * with the loop's capped back-off: the engine may still be starting, a port may be freed. (A
 * missing kind is settled before, when the provider is chosen.) Each failed attempt is said with
 * its error (`cluster/retry`), so the hold reason and the header tell the truth; only --once gives
 * up after the first failure.
 */
import type { DevAction, ProblemReport } from "../core/dev/state.js";
import { withBackoff, type BackoffOptions } from "./backoff.js";
import { problemFrom } from "./runner.js";

/** True once the cluster is up; false when it failed for good or the session ended first. */
export async function bringUpCluster(
  connect: () => Promise<void>,
  dispatch: (action: DevAction) => void,
  options: { signal: AbortSignal; retry: boolean; backoff?: Pick<BackoffOptions, "initialMs" | "maxMs" | "sleep"> | undefined },
): Promise<boolean> {
  try {
    await withBackoff(connect, {
      ...options.backoff,
      signal: options.signal,
      retry: () => options.retry,
      onRetry: (error, attempt, delayMs) => dispatch({ type: "cluster/retry", attempt, delayMs, problem: clusterProblem(error) }),
    });
    return true;
  } catch (error) {
    if (!options.signal.aborted) dispatch({ type: "cluster/failed", problem: clusterProblem(error) });
    return false;
  }
}

/** Start-up and re-creation failures are the cluster's problem, shown in the header's place. */
function clusterProblem(error: unknown): ProblemReport {
  return { ...problemFrom("build", error), stage: "cluster" };
}
