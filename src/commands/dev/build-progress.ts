/**
 * What the dev loop's build stage shows while a build runs: the running step as the stage's detail
 * (with a count for the progress bar), each finished step as a StepReport (name, cached or not,
 * duration, bytes), and which builder builds, said once.
 */
import type { BuildEvent } from "../../adapters/docker/build.js";
import type { BuildStep } from "../../adapters/docker/buildkit-progress.js";
import type { StepReport } from "../../core/dev/state.js";
import type { StageContext } from "../../engine/runner.js";

/** BuildKit's own work (loading metadata, exporting) is reported only when it took this long, or moved this much. */
const NOTABLE_MS = 100;
const NOTABLE_BYTES = 1_000_000;

interface BuildStageProgress {
  onEvent(event: BuildEvent): void;
  /** Which builder built and why; set on the first build of a session, undefined after. */
  builderNote(): string | undefined;
}

export function buildStageProgress(context: Pick<StageContext, "progress">): BuildStageProgress {
  let note: string | undefined;
  let detail = "";
  let count: { current: number; total: number } | undefined;
  return {
    builderNote: () => note,
    onEvent(event) {
      switch (event.type) {
        case "builder":
          note = event.detail;
          context.progress(event.detail);
          return;
        case "step":
          detail = `step ${event.step}/${event.totalSteps}: ${event.instruction}`;
          count = { current: event.step, total: event.totalSteps };
          context.progress(detail, count);
          return;
        case "progress": {
          const step = event.step;
          if (step.instruction !== undefined && step.status === "running") {
            detail = `step ${step.index}/${step.total}${step.stage ? ` of ${step.stage}` : ""}: ${step.instruction}`;
            count = step.index !== undefined && step.total !== undefined ? { current: step.index, total: step.total } : undefined;
          }
          if (step.instruction !== undefined || notable(step)) context.progress(detail || step.name, count, report(step));
          return;
        }
        case "context":
          if (event.bytesSent > 1_000_000) context.progress(`sending context: ${(event.bytesSent / 1_000_000).toFixed(0)} MB`, count);
          return;
        case "cache-hit":
        case "output":
          return;
      }
    },
  };
}

function notable(step: BuildStep): boolean {
  return step.status === "failed" || (step.ms ?? 0) >= NOTABLE_MS || (step.bytes ?? 0) >= NOTABLE_BYTES;
}

function report(step: BuildStep): StepReport {
  return { id: step.id, name: step.name, status: step.status, ms: step.ms, bytes: step.bytes };
}
