/**
 * The pods' logs. Lines are not React state: the pane asks the log store for the window it shows
 * (at most one screen of lines) on a timer, and only when a line arrived or the view moved, so a
 * pod printing thousands of lines per second costs ten small reads a second.
 */
import { Box } from "ink";
import { memo, useEffect, useMemo, useState } from "react";
import type { LogEntry, LogFilter, LogStore } from "../../engine/log-store.js";
import { cleanLogText, fitWidth, formatCount, logSource } from "./format.js";
import { filterOf, type LogViewState } from "./keys.js";
import { Text, podColor } from "./theme.js";

export const LOG_REFRESH_MS = 100;
/** Wide enough to afford full pod names; narrower shows the pod's unique suffix. */
const FULL_POD_COLUMNS = 100;

interface LogWindow {
  lines: LogEntry[];
  received: number;
  dropped: number;
}

function useLogWindow(logs: LogStore, filter: LogFilter, anchor: number | undefined, size: number): LogWindow {
  // The timer only notices that lines arrived; the window itself is read during render, so a
  // scroll or a new filter shows at once, in the same frame as the title that announces it.
  const [latestSeq, setLatestSeq] = useState(logs.latestSeq);
  useEffect(() => {
    const timer = setInterval(() => setLatestSeq(logs.latestSeq), LOG_REFRESH_MS);
    return () => clearInterval(timer);
  }, [logs]);
  return useMemo(() => readWindow(logs, filter, anchor, size), [logs, filter, anchor, size, latestSeq]);
}

function readWindow(logs: LogStore, filter: LogFilter, anchor: number | undefined, size: number): LogWindow {
  return { lines: size > 0 ? logs.tail(filter, size, anchor) : [], received: logs.received, dropped: logs.dropped };
}

interface LogPaneProps {
  logs: LogStore;
  view: LogViewState;
  focused: boolean;
  /** The search being typed, shown in the title. */
  typing: string | undefined;
  rows: number;
  columns: number;
}

/** Memoized: the busiest section re-renders for its own reasons, not for every engine change. */
export const LogPane = memo(function LogPane({ logs, view, focused, typing, rows, columns }: LogPaneProps) {
  const filter = useMemo(() => filterOf(view), [view]);
  const window = useLogWindow(logs, filter, view.anchor, Math.max(0, rows - 1));
  if (rows <= 0) return null;
  const prefixes = window.lines.map((line) => logSource(line, columns < FULL_POD_COLUMNS));
  const prefixWidth = Math.min(Math.max(0, ...prefixes.map((prefix) => prefix.length)), Math.floor(columns / 3));
  return (
    <Box flexDirection="column" width={columns} height={rows}>
      <LogTitle view={view} focused={focused} typing={typing} window={window} />
      {window.lines.length === 0 && <Text dimColor>{view.pod || view.search ? "  no lines match" : "  no log lines yet"}</Text>}
      {window.lines.map((line, index) => (
        <Text key={line.seq} wrap="truncate-end">
          <Text color={podColor(line.pod)}>{fitWidth(prefixes[index] ?? "", prefixWidth)}</Text>
          <Text dimColor> │ </Text>
          {line.kind === "notice" ? <Text color="yellow">! {cleanLogText(line.text)}</Text> : cleanLogText(line.text)}
        </Text>
      ))}
    </Box>
  );
});

function LogTitle({ view, focused, typing, window }: { view: LogViewState; focused: boolean; typing: string | undefined; window: LogWindow }) {
  return (
    <Text wrap="truncate-end">
      <Text bold inverse={focused}>
        logs
      </Text>
      <Text dimColor> {view.anchor === undefined ? "following" : "paused (End follows)"}</Text>
      <Text dimColor> · {view.pod ? `pod ${view.pod}` : "all pods"}</Text>
      {view.search && <Text color="cyan"> · search “{view.search}”</Text>}
      <Text dimColor> · {formatCount(window.received)} lines</Text>
      {window.dropped > 0 && <Text color="red"> · {formatCount(window.dropped)} lines dropped</Text>}
      {typing !== undefined && <Text color="cyan"> /{typing}▌</Text>}
    </Text>
  );
}
