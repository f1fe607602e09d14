/**
 * One capped exponential back-off for every lifecycle the dev loop keeps alive (cluster start-up,
 * the file watcher, and whatever else must be retried): try, and on failure wait initialMs, 2x,
 * 4x ... up to maxMs, telling the caller each time why and for how long. Stops when the signal
 * aborts or `retry` says the error is final.
 */
export interface BackoffOptions {
  initialMs?: number;
  maxMs?: number;
  signal?: AbortSignal | undefined;
  /** False ends the retries with this error. Default: retry everything. */
  retry?: ((error: unknown) => boolean) | undefined;
  onRetry?: ((error: unknown, attempt: number, delayMs: number) => void) | undefined;
  sleep?: ((ms: number, signal?: AbortSignal) => Promise<void>) | undefined;
  /**
   * For an attempt that runs until it fails (a watcher): one that stayed up this long before it
   * failed starts the back-off over, so a failure after hours waits initialMs, not maxMs.
   */
  resetAfterMs?: number | undefined;
  now?: (() => number) | undefined;
}

export async function withBackoff<T>(attempt: () => Promise<T>, options: BackoffOptions = {}): Promise<T> {
  const initialMs = options.initialMs ?? 2_000;
  const maxMs = options.maxMs ?? 30_000;
  const sleep = options.sleep ?? abortableSleep;
  const now = options.now ?? Date.now;
  for (let tries = 1; ; tries++) {
    const startedAt = now();
    try {
      return await attempt();
    } catch (error) {
      if (options.signal?.aborted || options.retry?.(error) === false) throw error;
      if (options.resetAfterMs !== undefined && now() - startedAt >= options.resetAfterMs) tries = 1;
      const delayMs = Math.min(maxMs, initialMs * 2 ** (tries - 1));
      options.onRetry?.(error, tries, delayMs);
      await sleep(delayMs, options.signal);
      if (options.signal?.aborted) throw error;
    }
  }
}

function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
  });
}
