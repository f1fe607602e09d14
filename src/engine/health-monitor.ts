/**
 * Watches, all session long, whether the Docker engine and the cluster still answer, and tells the
 * store when that changes: the header turns red with the cause, the planner holds changes, and
 * both resume by themselves when the engine or the cluster is back. One cheap request to each
 * every interval (a Docker ping, the API server's /version); only when the cluster does not answer
 * is its provider asked whether it still exists at all (that runs `kind get clusters`).
 */
import type { DevAction } from "../core/dev/state.js";

export interface HealthProbes {
  pingEngine(signal: AbortSignal): Promise<unknown>;
  pingCluster(signal: AbortSignal): Promise<unknown>;
  /** False only when the provider is sure the cluster is gone; undefined when it cannot tell. */
  clusterExists(): Promise<boolean | undefined>;
}

interface HealthMonitor {
  /** Checks at once (after a failure that smells of a lost connection). */
  checkNow(): void;
  stop(): void;
}

export function startHealthMonitor(
  probes: HealthProbes,
  dispatch: (action: DevAction) => void,
  options: { intervalMs?: number; timeoutMs?: number; now?: () => number } = {},
): HealthMonitor {
  const intervalMs = options.intervalMs ?? 2_000;
  const timeoutMs = options.timeoutMs ?? 3_000;
  const now = options.now ?? (() => Date.now());
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;

  const check = async () => {
    const engine = await answer((signal) => probes.pingEngine(signal), timeoutMs);
    if (stopped) return;
    dispatch(engine === undefined ? { type: "health/engine", up: true, at: now() } : { type: "health/engine", up: false, cause: engine, at: now() });
    const cluster = await answer((signal) => probes.pingCluster(signal), timeoutMs);
    if (stopped) return;
    if (cluster === undefined) {
      dispatch({ type: "health/cluster", state: "ok", at: now() });
      return;
    }
    // With the engine away, kind cannot say whether its cluster exists: only "down" is known.
    const exists = engine === undefined ? await probes.clusterExists().catch(() => undefined) : undefined;
    if (stopped) return;
    dispatch(exists === false ? { type: "health/cluster", state: "deleted", at: now() } : { type: "health/cluster", state: "down", cause: cluster, at: now() });
  };

  const loop = () => {
    if (stopped || running) return;
    running = check().finally(() => {
      running = undefined;
      if (!stopped) timer = setTimeout(loop, intervalMs);
    });
  };
  timer = setTimeout(loop, intervalMs);

  return {
    checkNow: () => {
      clearTimeout(timer);
      loop();
    },
    stop: () => {
      stopped = true;
      clearTimeout(timer);
    },
  };
}

/** undefined when the probe answered in time; otherwise why not, in a few words. */
async function answer(probe: (signal: AbortSignal) => Promise<unknown>, timeoutMs: number): Promise<string | undefined> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<string>((resolve) => {
    timer = setTimeout(() => {
      controller.abort();
      resolve(`no answer within ${timeoutMs / 1000} s`);
    }, timeoutMs);
  });
  try {
    return await Promise.race([probe(controller.signal).then(() => undefined), timeout]);
  } catch (error) {
    return describeFailure(error);
  } finally {
    clearTimeout(timer);
  }
}

function describeFailure(error: unknown): string {
  for (
    let current = error as { code?: unknown; address?: unknown; message?: unknown; cause?: unknown } | undefined, depth = 0;
    current && depth < 4;
    current = current.cause as typeof current, depth++
  ) {
    if (typeof current.code === "string") return `${current.code}${typeof current.address === "string" ? ` ${current.address}` : ""}`;
  }
  return error instanceof Error ? error.message : String(error);
}
