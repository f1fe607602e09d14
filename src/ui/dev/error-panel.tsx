/**
 * The problem in one panel: what went wrong, the lines that show it, and the fix on its own line.
 * It prints what the ProblemReport holds and nothing else: user errors carry no stack, and an
 * internal error arrives already formatted by the runner as a bug report.
 */
import { Box } from "ink";
import { memo } from "react";
import type { ProblemReport } from "../../core/dev/state.js";
import { clip, wrapText } from "./format.js";
import { Text, useColors } from "./theme.js";

/** Border and padding take two columns on each side, the "✗ " or "→ " marker two more. */
const CHROME_COLUMNS = 6;
const MAX_MESSAGE_LINES = 4;
const MAX_HINT_LINES = 3;

function panelText(problem: ProblemReport, columns: number) {
  const width = columns - CHROME_COLUMNS;
  return {
    message: wrapText(`${problem.stage}: ${problem.message}`, width).slice(0, MAX_MESSAGE_LINES),
    hint: problem.hint ? wrapText(`fix: ${problem.hint}`, width).slice(0, MAX_HINT_LINES) : [],
  };
}

export function errorPanelRows(problem: ProblemReport | undefined, columns: number): number {
  if (!problem) return 0;
  const text = panelText(problem, columns);
  return 2 + text.message.length + problem.details.length + text.hint.length;
}

/** Within `rows`: the message's first line and the fix come first, then the details that fit. */
export const ErrorPanel = memo(function ErrorPanel({ problem, rows, columns }: { problem: ProblemReport | undefined; rows: number; columns: number }) {
  const colors = useColors();
  if (!problem || rows <= 0) return null;
  const text = panelText(problem, columns);
  const bordered = rows >= 4;
  let room = rows - (bordered ? 2 : 0);
  const message = text.message.slice(0, Math.max(1, room - text.hint.length));
  room -= message.length;
  const hint = text.hint.slice(0, Math.max(0, room));
  room -= hint.length;
  const details = clip(problem.details, Math.max(0, room));
  return (
    <Box
      flexDirection="column"
      width={columns}
      borderStyle={bordered ? "round" : undefined}
      borderColor={colors ? "red" : undefined}
      paddingX={bordered ? 1 : 0}
    >
      {message.map((line, index) => (
        <Text key={`message:${index}`} color="red" bold={index === 0} wrap="truncate-end">
          {index === 0 ? "✗ " : "  "}
          {line}
        </Text>
      ))}
      {details.shown.map((line, index) => (
        <Text key={`detail:${index}`} wrap="truncate-end">
          {"  "}
          {line}
        </Text>
      ))}
      {details.hidden > 0 && room > 0 && <Text dimColor>{`  … ${details.hidden} more lines`}</Text>}
      {hint.map((line, index) => (
        <Text key={`hint:${index}`} color="yellow" wrap="truncate-end">
          {index === 0 ? "→ " : "  "}
          {line}
        </Text>
      ))}
    </Box>
  );
});
