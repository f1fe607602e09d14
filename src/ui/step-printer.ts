import type { ClusterStep, StepReporter } from "../adapters/cluster/provider.js";

const MARK: Record<ClusterStep["status"], string> = { running: "…", done: "✓", skipped: "=", failed: "✗" };

/**
 * Prints cluster steps with the elapsed time. In a terminal the running step's latest output line
 * is rewritten in place (creation takes minutes; the user sees it move); elsewhere each change is
 * one plain line, so CI logs stay readable.
 */
export function createStepPrinter(out: NodeJS.WriteStream, started = performance.now()): StepReporter & { finish(): void } {
  const live = out.isTTY === true;
  let pendingLiveLine = false;
  const elapsed = () => `${((performance.now() - started) / 1000).toFixed(1).padStart(6)}s`;
  const clearLive = () => {
    if (pendingLiveLine) out.write("\r\x1b[2K");
    pendingLiveLine = false;
  };
  const report = ((step: ClusterStep) => {
    const text = `[${elapsed()}] ${MARK[step.status]} ${step.title}${step.detail ? `: ${step.detail}` : ""}`;
    if (live && step.status === "running") {
      clearLive();
      out.write(text.slice(0, Math.max(20, (out.columns ?? 100) - 1)));
      pendingLiveLine = true;
      return;
    }
    clearLive();
    out.write(`${text}\n`);
  }) as StepReporter & { finish(): void };
  report.finish = clearLive;
  return report;
}
