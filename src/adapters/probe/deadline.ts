interface Deadline {
  signal: AbortSignal;
  /** True when the time ran out (not when the caller's own signal aborted). */
  readonly expired: boolean;
  clear(): void;
}

/**
 * A time limit for one request that keeps Node running while it waits. AbortSignal.timeout() would
 * not: its timer does not hold the process open, so when the only thing pending is a connection
 * that Docker's port proxy accepted and holds without an answer, Node exits (code 13, "unsettled
 * top-level await") instead of timing out. Measured here with a container whose server was not up.
 */
export function deadline(ms: number, signal?: AbortSignal): Deadline {
  const controller = new AbortController();
  let expired = false;
  const timer = setTimeout(() => {
    expired = true;
    controller.abort(new DOMException(`no answer within ${ms} ms`, "TimeoutError"));
  }, ms);
  const forward = () => controller.abort(signal?.reason);
  signal?.addEventListener("abort", forward, { once: true });
  if (signal?.aborted) forward();
  return {
    signal: controller.signal,
    get expired() {
      return expired;
    },
    clear() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", forward);
    },
  };
}
