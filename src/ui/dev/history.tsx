/**
 * Past iterations. The live section shows a sparkline of edit-to-verified times and the latest
 * rows; every finished iteration is also printed once above the live view through <Static>, so
 * the full record sits in the terminal's scrollback and stays there after quitting.
 */
import { Box, Static } from "ink";
import { memo, useRef } from "react";
import type { DevAction, DevState, IterationSummary, Stage } from "../../core/dev/state.js";
import type { Store } from "../../engine/store.js";
import { fitWidth, formatMs, sparkline } from "./format.js";
import { useStoreState } from "./hooks.js";
import { Text } from "./theme.js";

/** Live rows at most; the rest is in the scrollback. */
const LIVE_ROWS = 5;
const STAGE_ORDER: Stage[] = ["config", "sync", "build", "deliver", "apply", "rollout", "test"];

export function historyRows(count: number): number {
  return count === 0 ? 0 : 1 + Math.min(LIVE_ROWS, count);
}

interface HistoryProps {
  store: Store<DevState, DevAction>;
  rows: number;
  columns: number;
}

export function History({ store, rows, columns }: HistoryProps) {
  const history = useStoreState(store, (state) => state.history);
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
}

/** "#3 ✓  8.0s  app.py changed   build 4.1s · deliver 1.2s · …" */
export function HistoryRow({ entry }: { entry: IterationSummary }) {
  const stages = STAGE_ORDER.flatMap((stage) => {
    const ms = entry.stageMs[stage];
    return ms === undefined ? [] : [`${stage} ${formatMs(ms)}`];
  });
  const mark = entry.result === "success" ? <Text color="green">✓</Text> : entry.result === "failed" ? <Text color="red">✗</Text> : <Text dimColor>-</Text>;
  return (
    <Text wrap="truncate-end">
      {"  "}#{entry.id} {mark} {formatMs(entry.totalMs).padStart(6)}  {fitWidth(entry.trigger, 22)} {entry.route?.kind === "sync" ? <Text color="cyan">live </Text> : entry.route ? <Text dimColor>rebuild </Text> : null}
      <Text dimColor>{stages.join(" · ")}</Text>
    </Text>
  );
}

/**
 * Each finished iteration once, above the live view. Memoized: any re-render of <Static> makes
 * Ink write a frame at once, bypassing its frame-rate limit, so it must re-render only when the
 * history changes, not with every progress update of its parent.
 */
export const FinishedIterations = memo(function FinishedIterations({ store }: { store: Store<DevState, DevAction> }) {
  const history = useStoreState(store, (state) => state.history);
  // <Static> prints the items past the count it has already printed, so it needs a list that
  // only grows; the state's history is capped and would stop growing after the cap.
  const printed = useRef<IterationSummary[]>([]);
  const lastId = printed.current.at(-1)?.id ?? 0;
  const fresh = history.filter((entry) => entry.id > lastId);
  if (fresh.length > 0) printed.current = [...printed.current, ...fresh];
  return <Static items={printed.current}>{(entry) => <HistoryRow key={entry.id} entry={entry} />}</Static>;
});
