/**
 * Every delay the control plane waits on. The defaults are the real components' (kubelet back-off
 * 10 s doubling to 5 min, reset after 10 min of running; watch bookmarks about once a minute).
 * MLKUBE_SIM_FAST_BACKOFF=1 divides the back-offs by 20 (0.5 s doubling to 15 s, reset after 30 s)
 * so CrashLoopBackOff and ImagePullBackOff are reached in a test's lifetime while still showing
 * the waiting states for long enough to be observed. Probe timings always come from the pod spec.
 */

export interface Timing {
  crashBackoffBaseMs: number;
  crashBackoffMaxMs: number;
  /** A container that ran this long without crashing starts its back-off from the base again. */
  crashBackoffResetMs: number;
  imageBackoffBaseMs: number;
  imageBackoffMaxMs: number;
  /** How often unschedulable pods are tried again even when nothing in the cluster changed. */
  schedulerRetryMs: number;
  watchBookmarkMs: number;
  watchDefaultTimeoutSeconds: number;
  /**
   * How long each node stays NotReady after the control plane starts: a kind node waits for its
   * network plugin (kindnet) before the kubelet reports Ready; `kind create cluster --wait 60s`
   * printed "Ready after 16s" with kind v0.30 (ansible/receptor#1518). 0: Ready at once.
   */
  nodeReadyAfterMs: number;
}

export const REAL_TIMING: Timing = {
  crashBackoffBaseMs: 10_000,
  crashBackoffMaxMs: 300_000,
  crashBackoffResetMs: 600_000,
  imageBackoffBaseMs: 10_000,
  imageBackoffMaxMs: 300_000,
  schedulerRetryMs: 10_000,
  watchBookmarkMs: 60_000,
  watchDefaultTimeoutSeconds: 1800,
  nodeReadyAfterMs: 16_000,
};

export const FAST_TIMING: Timing = {
  ...REAL_TIMING,
  crashBackoffBaseMs: 500,
  crashBackoffMaxMs: 15_000,
  crashBackoffResetMs: 30_000,
  imageBackoffBaseMs: 500,
  imageBackoffMaxMs: 15_000,
  schedulerRetryMs: 1_000,
  // Shortened like the back-offs, but the NotReady window still exists for whatever comes first.
  nodeReadyAfterMs: 2_000,
};

export function resolveTiming(env: NodeJS.ProcessEnv = process.env, overrides: Partial<Timing> = {}): Timing {
  const base = env.MLKUBE_SIM_FAST_BACKOFF === "1" || env.MLKUBE_SIM_FAST_BACKOFF === "true" ? FAST_TIMING : REAL_TIMING;
  // A slow machine's node (kind's --wait only warns when it runs out): tests hold the NotReady window open with it.
  const nodeReadyAfterMs = env.MLKUBE_SIM_NODE_READY_AFTER_MS ? Number(env.MLKUBE_SIM_NODE_READY_AFTER_MS) : base.nodeReadyAfterMs;
  return { ...base, nodeReadyAfterMs, ...overrides };
}

/**
 * Exponential back-off per key, with the kubelet's two ways of using flowcontrol.Backoff:
 * - crash restarts (`restartDelay`): the first restart is immediate, then base, doubling, capped;
 *   a container that ran for longer than the reset interval starts over;
 * - image pulls (`failureDelay`): every failure waits, base first, doubling, capped.
 */
export class Backoff {
  private readonly entries = new Map<string, { delayMs: number; lastUpdate: number }>();

  constructor(
    private readonly baseMs: number,
    private readonly maxMs: number,
    private readonly resetAfterMs: number = maxMs * 2,
  ) {}

  private expired(entry: { lastUpdate: number }, at: number): boolean {
    return at - entry.lastUpdate > this.resetAfterMs;
  }

  /** How long to wait before restarting after a termination at `at`. */
  restartDelay(key: string, at = Date.now()): number {
    const entry = this.entries.get(key);
    if (!entry || this.expired(entry, at)) {
      this.entries.set(key, { delayMs: this.baseMs, lastUpdate: at });
      return 0;
    }
    const wait = entry.delayMs;
    entry.delayMs = Math.min(entry.delayMs * 2, this.maxMs);
    entry.lastUpdate = at;
    return wait;
  }

  /** How long to wait after a failure at `at` before trying again. */
  failureDelay(key: string, at = Date.now()): number {
    const entry = this.entries.get(key);
    if (!entry || this.expired(entry, at)) {
      this.entries.set(key, { delayMs: this.baseMs, lastUpdate: at });
      return this.baseMs;
    }
    entry.delayMs = Math.min(entry.delayMs * 2, this.maxMs);
    entry.lastUpdate = at;
    return entry.delayMs;
  }

  forget(prefix: string): void {
    for (const key of [...this.entries.keys()]) if (key.startsWith(prefix)) this.entries.delete(key);
  }
}
