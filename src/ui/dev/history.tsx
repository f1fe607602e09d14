/**
 * Past iterations: a sparkline of edit-to-verified times and the latest rows. Nothing is printed
 * above the live view during the session: the terminal rewraps such text on every resize, and its
 * pieces showed between frames (issue #15.4). The session's record is printed once it ends
 * (historyRowText, session.ts).
 */
import { Box } from "ink";
import { memo } from "react";
import type { IterationSummary, Stage } from "../../core/dev/state.js";
import { fitWidth, formatMs, sparkline } from "./format.js";
import { Text } from "./theme.js";

/** Live rows at most; the whole record is printed when the session ends. */
const LIVE_ROWS = 5;
const STAGE_ORDER: Stage[] = ["config", "sync", "build", "deliver", "apply", "rollout", "test"];

/** What the section shows: the app reads it from the store and hands it to historyRows and History alike. */
export interface HistorySlice {
  history: readonly IterationSummary[];
}

export function historyRows({ history }: HistorySlice): number {
  return history.length === 0 ? 0 : 1 + Math.min(LIVE_ROWS, history.length);
}

export const History = memo(function History({ history, rows, columns }: HistorySlice & { rows: number; columns: number }) {
  if (rows <= 0 || history.length === 0) return null;
  const totals = history.map((entry) => entry.totalMs);
  const successes = history.filter((entry) => entry.result === "success").map((entry) => entry.totalMs);
  const last = history.at(-1);
  return (
    <Box flexDirection="column" width={columns}>
      <Text wrap="truncate-end">
        <Text bold>history </Text>
        <Text color="cyan">{sparkline(totals.slice(-Math.max(5, Math.min(30, columns - 40))))}</Text>
        {last && <Text> last {formatMs(last.totalMs)}</Text>}
        {successes.length > 0 && <Text dimColor> · best {formatMs(Math.min(...successes))}</Text>}
      </Text>
      {(rows > 1 ? history.slice(-(rows - 1)) : []).map((entry) => (
        <HistoryRow key={entry.id} entry={entry} />
      ))}
    </Box>
  );
});

/** A row's columns, the same on screen and in the record printed at the end. */
function rowParts(entry: IterationSummary) {
  const stages = STAGE_ORDER.flatMap((stage) => {
    const ms = entry.stageMs[stage];
    return ms === undefined ? [] : [`${stage} ${formatMs(ms)}`];
  });
  return {
    lead: `  #${entry.id} `,
    mark: entry.result === "success" ? "✓" : entry.result === "failed" ? "✗" : "-",
    timing: ` ${formatMs(entry.totalMs).padStart(6)}  ${fitWidth(entry.trigger, 22)} `,
    route: entry.route?.kind === "sync" ? "live " : entry.route ? "rebuild " : "",
    stages: stages.join(" · "),
  };
}

/** "#3 ✓  8.0s  app.py changed   build 4.1s · deliver 1.2s · …" */
function HistoryRow({ entry }: { entry: IterationSummary }) {
  const row = rowParts(entry);
  const markColor = entry.result === "success" ? "green" : entry.result === "failed" ? "red" : undefined;
  return (
    <Text wrap="truncate-end">
      {row.lead}
      <Text color={markColor} dimColor={markColor === undefined}>
        {row.mark}
      </Text>
      {row.timing}
      {row.route && (entry.route?.kind === "sync" ? <Text color="cyan">{row.route}</Text> : <Text dimColor>{row.route}</Text>)}
      <Text dimColor>{row.stages}</Text>
    </Text>
  );
}

/** The same row as plain text, for the record printed when the session ends. */
export function historyRowText(entry: IterationSummary): string {
  const row = rowParts(entry);
  return `${row.lead}${row.mark}${row.timing}${row.route}${row.stages}`;
}
