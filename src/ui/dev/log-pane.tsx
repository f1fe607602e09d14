/**
 * The pods' logs. Lines are not React state: the pane asks the log store for the window it shows
 * (at most one screen of lines) on a timer, and only when a line arrived or the view moved, so a
 * pod printing thousands of lines per second costs ten small reads a second.
 */
import { Box, Text as InkText } from "ink";
import { memo, useEffect, useMemo, useRef, useState } from "react";
import { MatchIndex, parseSearch, REGEX_PREFIX } from "../../engine/log-filter.js";
import type { LogFilter, LogStore } from "../../engine/log-store.js";
import { formatCount, logSource } from "./format.js";
import { foldedSeek, foldedTail, type FoldedLine } from "./log-fold.js";
import { subscribeTicks, TICK_MS } from "./hooks.js";
import { filterOf, type LogViewState } from "./keys.js";
import { logRow } from "./log-rows.js";
import { Text, useColors } from "./theme.js";

/**
 * Under a flood (more than a pane of new lines since the last redraw, so no line stays on screen
 * long enough to read) the pane redraws this often instead. A frame costs Ink 15-25 ms at 120x40
 * (profiled with a 5,000 lines/s flood: mostly turning the screen into styled characters), so ten
 * a second were a quarter of a core and a key press waited for the frame already due; twice a
 * second still shows the flood moving.
 */
const LOG_FLOOD_REFRESH_MS = 500;
/** Wide enough to afford full pod names; narrower shows the pod's unique suffix. */
const FULL_POD_COLUMNS = 100;

interface LogWindow {
  lines: FoldedLine[];
  received: number;
  dropped: number;
  /** Lines held that the filter shows. */
  matching: number;
  /** Matching lines below a pinned view. */
  newer: number;
}

function useLogWindow(logs: LogStore, filter: LogFilter, fold: boolean, anchor: number | undefined, size: number): LogWindow {
  // The timer only notices that lines arrived; the window itself is read during render, so a
  // scroll or a new filter shows at once, in the same frame as the title that announces it.
  const [latestSeq, setLatestSeq] = useState(logs.latestSeq);
  // The seq last handed to the window, kept across the effect's restarts (a new pane size). Not
  // the store's seq when the effect starts: React runs effects some time after the frame was read
  // (tens of milliseconds in a busy UI), and a line arriving in between would count as shown
  // without ever being read, hidden until the next line arrives (after `c`, say, which resizes).
  const shown = useRef({ seq: latestSeq, at: 0 });
  // On the screen's clock, so new lines and a spinner's next frame share one frame.
  useEffect(
    () =>
      subscribeTicks(TICK_MS, () => {
        const seq = logs.latestSeq;
        if (seq === shown.current.seq) return;
        const now = Date.now();
        if (seq - shown.current.seq > size && now - shown.current.at < LOG_FLOOD_REFRESH_MS) return;
        shown.current = { seq, at: now };
        setLatestSeq(seq);
      }),
    [logs, size],
  );
  const index = useMemo(() => new MatchIndex(filter), [filter]);
  return useMemo(() => readWindow(logs, filter, fold, index, anchor, size), [logs, filter, fold, index, anchor, size, latestSeq]);
}

function readWindow(logs: LogStore, filter: LogFilter, fold: boolean, index: MatchIndex, anchor: number | undefined, size: number): LogWindow {
  index.update(logs);
  const end = pinnedEnd(logs, filter, fold, anchor, size);
  return {
    lines: fold ? foldedTail(logs, filter, size, end) : logs.tail(filter, size, end).map((entry) => ({ entry, count: 1 })),
    received: logs.received,
    dropped: logs.dropped,
    matching: index.count,
    newer: end === undefined ? 0 : index.newerThan(end),
  };
}

/**
 * Where the window ends. A pinned view whose lines a flood pushes out of the bounded history shows
 * the oldest page still held, instead of an empty pane.
 */
function pinnedEnd(logs: LogStore, filter: LogFilter, fold: boolean, anchor: number | undefined, size: number): number | undefined {
  if (anchor === undefined || size <= 0) return anchor;
  const oldestPageEnd = fold ? foldedSeek(logs, filter, 0, size) : logs.seek(filter, 0, size);
  return oldestPageEnd === undefined ? anchor : Math.max(anchor, oldestPageEnd);
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
  const colors = useColors();
  const filter = useMemo(() => filterOf(view), [view]);
  const window = useLogWindow(logs, filter, !view.unfolded, view.anchor, Math.max(0, rows - 1));
  if (rows <= 0) return null;
  const prefixes = sourceColumn(window.lines, columns);
  const prefixWidth = Math.min(Math.max(0, ...prefixes.map((prefix) => prefix.length)), Math.floor(columns / 3));
  const rowOptions = { columns, prefixWidth, mark: view.mark, raw: view.raw, colors };
  return (
    <Box flexDirection="column" width={columns} height={rows}>
      <LogTitle view={view} focused={focused} typing={typing} window={window} />
      {window.lines.length === 0 ? (
        <Text dimColor>{view.pod || view.search ? "  no lines match" : "  no log lines yet"}</Text>
      ) : (
        // One Text for the whole window, its rows styled and fitted by logRow (log-rows.ts).
        <InkText>{window.lines.map((line, index) => logRow(line, prefixes[index] ?? "", rowOptions)).join("\n")}</InkText>
      )}
    </Box>
  );
});

/**
 * Each row's source: "pod/container", or the pod's unique suffix and the container when the full
 * names would not fit a third of the width (a narrow screen, or long names: cut, every row would
 * lose the container's name, and its "…" would cost Ink a slow measurement per row).
 */
function sourceColumn(lines: readonly FoldedLine[], columns: number): string[] {
  const full = lines.map(({ entry }) => logSource(entry));
  if (columns >= FULL_POD_COLUMNS && full.every((source) => source.length <= Math.floor(columns / 3))) return full;
  return lines.map(({ entry }) => logSource(entry, true));
}

function LogTitle({ view, focused, typing, window }: { view: LogViewState; focused: boolean; typing: string | undefined; window: LogWindow }) {
  const searchError = parseSearch(view.search).error;
  // Said while typing too, so Enter is not the first time a bracket left open shows.
  const typingError = typing === undefined ? undefined : parseSearch(typing).error;
  return (
    <Text wrap="truncate-end">
      <Text bold inverse={focused}>
        logs
      </Text>
      <Text dimColor> {view.anchor === undefined ? "following" : "paused (End follows)"}</Text>
      {view.anchor !== undefined && window.newer > 0 && (
        <Text color="cyan">
          {" "}
          · {formatCount(window.newer)} newer {window.newer === 1 ? "line" : "lines"} below
        </Text>
      )}
      <Text dimColor> · {view.pod ? `pod ${view.container ? `${view.pod}/${view.container}` : view.pod}` : "all pods"}</Text>
      {searchError !== undefined && <Text color="red"> · {searchError}, not applied</Text>}
      {view.search && searchError === undefined && (
        <Text color="cyan">
          {" "}
          · {view.search.startsWith(REGEX_PREFIX) ? "regex" : "search"} “
          {view.search.startsWith(REGEX_PREFIX) ? view.search.slice(REGEX_PREFIX.length) : view.search}” · {formatCount(window.matching)}{" "}
          {window.matching === 1 ? "match" : "matches"}
        </Text>
      )}
      <Text dimColor> · {formatCount(window.received)} lines</Text>
      {view.unfolded && <Text dimColor> · unfolded (z folds)</Text>}
      {!view.unfolded && window.lines.some((line) => line.count > 1) && <Text dimColor> · repeats folded (z unfolds)</Text>}
      {window.dropped > 0 && <Text color="red"> · {formatCount(window.dropped)} lines dropped</Text>}
      {view.note !== undefined && <Text color="yellow"> · {view.note}</Text>}
      {typing !== undefined && <Text color="cyan"> /{typing}▌</Text>}
      {typingError !== undefined && <Text color="red"> {typingError}</Text>}
    </Text>
  );
}
