/** Output helpers shared by the stand-ins. */

/**
 * kind's status lines in their non-terminal form (kind animates a spinner on a TTY):
 * ` • Step  ...` when a step starts, ` ✓ Step` or ` ✗ Step` when it ends. kind logs to stderr.
 */
export class KindStatus {
  private current: string | undefined;

  start(step: string): void {
    this.end(true);
    this.current = step;
    process.stderr.write(` • ${step}  ...\n`);
  }

  end(success: boolean): void {
    if (this.current === undefined) return;
    process.stderr.write(` ${success ? "✓" : "✗"} ${this.current}\n`);
    this.current = undefined;
  }
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Go's %q for a []string: ["a" "b"]. */
export function goQuoteList(items: string[]): string {
  return `[${items.map((item) => JSON.stringify(item)).join(" ")}]`;
}
