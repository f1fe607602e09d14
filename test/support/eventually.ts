/**
 * Retries a check until it passes (returns without throwing) or the time is up, then throws the
 * check's last error. For what settles asynchronously: Ink frames, a NodePort that starts
 * forwarding, a log line that arrives.
 */
export async function eventually<T>(check: () => T | Promise<T>, timeoutMs = 10_000, intervalMs = 10): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  }
}
