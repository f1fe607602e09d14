/** The current iteration, stage by stage, and why nothing is starting when the planner holds. */
import { Box } from "ink";
import { memo } from "react";
import { verdictWord } from "../../core/verification.js";
import type { Iteration, StageState, StepReport } from "../../core/dev/state.js";
import { Elapsed, Spinner } from "./activity.js";
import { formatMs, progressBar } from "./format.js";
import { Text } from "./theme.js";

const MARKS: Record<Exclude<StageState["status"], "running">, { glyph: string; color: string }> = {
  done: { glyph: "✓", color: "green" },
  failed: { glyph: "✗", color: "red" },
  pending: { glyph: "·", color: "gray" },
  skipped: { glyph: "-", color: "gray" },
};

/** Below this width a progress bar would squeeze the detail out; the count alone stays. */
const BAR_MIN_COLUMNS = 70;
const TIME_WIDTH = 8;

/** What the section shows: the app reads it from the store and hands it to pipelineRows and Pipeline alike. */
export interface PipelineSlice {
  current: Iteration | undefined;
  /** The planner's reason for not starting the pending changes, if it holds. */
  hold: string | undefined;
}

export function pipelineRows({ current, hold }: PipelineSlice): number {
  return (current ? current.stages.length + 1 : 1) + (hold ? 1 : 0);
}

export const Pipeline = memo(function Pipeline({ current, hold, rows, columns }: PipelineSlice & { rows: number; columns: number }) {
  if (rows <= 0) return null;
  const showHold = hold !== undefined && rows >= 2;
  const room = rows - (showHold ? 1 : 0);
  return (
    <Box flexDirection="column" width={columns}>
      {!current ? (
        <Text dimColor>no iteration yet</Text>
      ) : room >= current.stages.length + 1 ? (
        <>
          <IterationTitle iteration={current} />
          {current.stages.map((stage) => (
            <StageRow key={stage.stage} stage={stage} wide={columns >= BAR_MIN_COLUMNS} />
          ))}
        </>
      ) : (
        <CompactPipeline iteration={current} />
      )}
      {showHold && (
        <Text color="yellow" wrap="truncate-end">
          » {hold}
        </Text>
      )}
    </Box>
  );
});

function IterationTitle({ iteration }: { iteration: Iteration }) {
  const from = iteration.changes.firstEventAt ?? iteration.startedAt;
  return (
    <Box>
      <Box flexGrow={1} flexShrink={1}>
        <Text bold wrap="truncate-end">
          #{iteration.id} {iteration.trigger}
        </Text>
      </Box>
      <Box flexShrink={0} marginLeft={1}>
        {iteration.result === undefined ? (
          <Elapsed since={from} />
        ) : iteration.result === "success" ? (
          <Text color="green">
            ✓ {verdictWord((iteration.tests ?? []).length)} {formatMs((iteration.finishedAt ?? from) - from)}
          </Text>
        ) : iteration.result === "failed" ? (
          <Text color="red">✗ failed after {formatMs((iteration.finishedAt ?? from) - from)}</Text>
        ) : (
          <Text dimColor>cancelled</Text>
        )}
      </Box>
    </Box>
  );
}

function StageRow({ stage, wide }: { stage: StageState; wide: boolean }) {
  const running = stage.status === "running";
  const progress = running && stage.progress ? progressText(stage.progress, wide) : undefined;
  const slowest = running ? undefined : slowestStep(stage.steps);
  const detail = stage.status === "skipped" ? "skipped" : [stage.detail, slowest].filter(Boolean).join(" · ");
  return (
    <Box>
      <Box width={2} flexShrink={0}>
        <StageMark status={stage.status} />
      </Box>
      <Box width={9} flexShrink={0}>
        <Text dimColor={stage.status === "pending" || stage.status === "skipped"}>{stage.stage}</Text>
      </Box>
      {progress && (
        <Box flexShrink={0} marginRight={1}>
          <Text color="cyan">{progress}</Text>
        </Box>
      )}
      <Box flexGrow={1} flexShrink={1}>
        <Text dimColor={!running} wrap="truncate-end">
          {detail ?? ""}
        </Text>
      </Box>
      <Box width={TIME_WIDTH} flexShrink={0} justifyContent="flex-end">
        {running && stage.startedAt !== undefined ? (
          <Elapsed since={stage.startedAt} />
        ) : stage.startedAt !== undefined && stage.finishedAt !== undefined ? (
          <Text>{formatMs(stage.finishedAt - stage.startedAt)}</Text>
        ) : null}
      </Box>
    </Box>
  );
}

/** Below this, no step is worth pointing at: the build was quick all along. */
const SLOW_STEP_MS = 1000;

/** The build's slowest step that ran (not from the cache): "slowest: [4/6] RUN pip install … 12.3s". */
function slowestStep(steps: readonly StepReport[] | undefined): string | undefined {
  const ran = (steps ?? []).filter((step) => step.status === "done" || step.status === "failed");
  const slowest = ran.reduce<StepReport | undefined>((best, step) => ((step.ms ?? 0) > (best?.ms ?? 0) ? step : best), undefined);
  if (!slowest || (slowest.ms ?? 0) < SLOW_STEP_MS) return undefined;
  return `slowest: ${slowest.name} ${formatMs(slowest.ms ?? 0)}`;
}

function StageMark({ status }: { status: StageState["status"] }) {
  if (status === "running") return <Spinner />;
  const mark = MARKS[status];
  return <Text color={mark.color}>{mark.glyph}</Text>;
}

/** One line when the screen has no room for a row per stage: the statuses still show. */
function CompactPipeline({ iteration }: { iteration: Iteration }) {
  return (
    <Text wrap="truncate-end">
      <Text bold>#{iteration.id}</Text>
      {iteration.stages.map((stage) => (
        <Text key={stage.stage}>
          {" "}
          <StageMark status={stage.status} />
          {stage.stage}
        </Text>
      ))}
    </Text>
  );
}

/** "████░░░░░░░░ 4/9"; a percentage when the total is bytes, where a count would be noise. */
function progressText(progress: { current: number; total: number }, wide: boolean): string {
  const count = progress.total < 10_000 ? `${progress.current}/${progress.total}` : `${Math.round((100 * progress.current) / Math.max(1, progress.total))}%`;
  return wide ? `${progressBar(progress.current, progress.total, 12)} ${count}` : count;
}
