/**
 * A keyed work queue like client-go's: adding a key that is already queued is a no-op, work runs
 * after the current write finished (never inside a store listener), and keys can be re-queued
 * after a delay (deadlines, minReadySeconds, retries).
 */
export class WorkQueue {
  private readonly pending = new Set<string>();
  private readonly delayed = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private scheduled = false;
  private closed = false;

  constructor(
    private readonly name: string,
    private readonly sync: (key: string) => void,
    private readonly log: (line: string) => void,
  ) {}

  add(key: string): void {
    if (this.closed) return;
    this.pending.add(key);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.drain());
    }
  }

  addAfter(key: string, delayMs: number): void {
    if (this.closed) return;
    const at = Date.now() + delayMs;
    const existing = this.delayed.get(key);
    if (existing && existing.at <= at) return;
    if (existing) clearTimeout(existing.timer);
    const timer = setTimeout(
      () => {
        this.delayed.delete(key);
        this.add(key);
      },
      Math.max(0, delayMs),
    );
    this.delayed.set(key, { at, timer });
  }

  private drain(): void {
    this.scheduled = false;
    if (this.closed) return;
    const keys = [...this.pending];
    this.pending.clear();
    for (const key of keys) {
      try {
        this.sync(key);
      } catch (err) {
        // A failed sync is retried, as controllers requeue with rate limiting.
        this.log(`${this.name}: sync ${key} failed: ${(err as Error)?.message ?? String(err)}`);
        this.addAfter(key, 1000);
      }
    }
  }

  close(): void {
    this.closed = true;
    for (const { timer } of this.delayed.values()) clearTimeout(timer);
    this.delayed.clear();
    this.pending.clear();
  }
}
