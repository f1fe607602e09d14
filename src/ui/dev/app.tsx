/**
 * The `mlkube dev` screen: sections stacked top to bottom. This component is the one place that
 * reads the store: each section's slice goes, the same value, to the section's row count (which
 * shares the rows between them) and to the section itself, a memoized component that re-renders
 * only when its slice or its rows change. It also turns keys into actions. The log pane reads the
 * LogStore itself.
 */
import { Box, useInput } from "ink";
import { useRef, useState } from "react";
import type { DevAction, DevState } from "../../core/dev/state.js";
import type { LogStore } from "../../engine/log-store.js";
import type { Store } from "../../engine/store.js";
import { ErrorPanel, errorPanelRows } from "./error-panel.js";
import { Footer, type FooterSlice } from "./footer.js";
import { Header, headerRows, type HeaderSlice } from "./header.js";
import { HELP_ROWS, Help } from "./help.js";
import { History, historyRows, type HistorySlice } from "./history.js";
import { ClockContext, useStoreSlices, useTerminalSize } from "./hooks.js";
import { INITIAL_VIEW, interpretKey, keyPresses, type KeyContext, type QuitRequest, type ViewState } from "./keys.js";
import { layoutRows } from "./layout.js";
import { LogPane } from "./log-pane.js";
import { Pipeline, pipelineRows, type PipelineSlice } from "./pipeline.js";
import { SmokeTests, smokeTestRows, type SmokeTestsSlice } from "./smoke-tests.js";
import { ColorsProvider } from "./theme.js";

interface DevAppProps {
  store: Store<DevState, DevAction>;
  logs: LogStore;
  /** The planner's reason for not starting the pending changes, if it holds. */
  holdReason: () => string | undefined;
  /** `q` or Ctrl-C, once per press: a second press means "now". */
  onQuit: (request: QuitRequest) => void;
  colors?: boolean | undefined;
  now?: (() => number) | undefined;
}

export function DevApp({ store, logs, holdReason, onQuit, colors = true, now = Date.now }: DevAppProps) {
  const { columns, rows } = useTerminalSize();
  const [view, setView] = useState<ViewState>(INITIAL_VIEW);
  // Keys can arrive faster than React re-renders; each must see the previous key's outcome.
  const viewRef = useRef(view);
  // The one read of the store: each value a part of the state (or a primitive), so it keeps its
  // identity until its content changes and the memoized sections skip renders not their own.
  const state = useStoreSlices(store, (state) => ({
    model: state.model.name,
    cluster: state.cluster,
    paused: state.paused,
    serving: state.serving,
    health: state.health,
    live: state.live,
    pruned: state.pruned,
    current: state.current,
    problem: state.problem,
    history: state.history,
    quitting: state.quitting,
    hold: holdReason(),
  }));
  // What is left after the other sections' values is the header's.
  const { current, problem, hold, history: iterations, quitting, ...headerState } = state;
  const header: HeaderSlice = { ...headerState, why: view.why };
  const pipeline: PipelineSlice = { current, hold };
  const tests: SmokeTestsSlice = { current };
  const history: HistorySlice = { history: iterations };
  const footer: FooterSlice = { paused: headerState.paused, quitting, typing: view.typing !== undefined, focus: view.focus };
  const shownProblem = problem !== view.dismissed ? problem : undefined;

  const layout = layoutRows(rows, {
    header: headerRows(header, columns),
    pipeline: pipelineRows(pipeline),
    error: errorPanelRows(shownProblem, columns),
    tests: smokeTestRows(tests, columns),
    history: historyRows(history),
    help: view.help ? HELP_ROWS : 0,
  });

  // Read by the key handler through a ref: Ink may still call a handler of an earlier render (its
  // subscription is renewed in an effect), which would page by an old terminal size.
  const keyContext = useRef<KeyContext>({ logs, pageSize: 1, problem, now });
  keyContext.current = { logs, pageSize: Math.max(1, layout.logs - 1), problem, now };

  useInput((input, key) => {
    for (const [oneInput, oneKey] of keyPresses(input, key)) {
      const outcome = interpretKey(viewRef.current, oneInput, oneKey, keyContext.current);
      if (outcome.action) store.dispatch(outcome.action);
      if (outcome.quit) onQuit(outcome.quit);
      viewRef.current = outcome.view;
    }
    setView(viewRef.current);
  });

  return (
    <ColorsProvider value={colors}>
      <ClockContext.Provider value={now}>
        {/* Padded to one row short of the screen: the frame covers the whole screen above the
            cursor's row, so nothing printed before it (rewrapped by the terminal after a resize)
            shows through. A minimum, not a fixed height: content taller than the layout planned
            (a line that wraps) must not make Yoga shrink the header away. */}
        <Box flexDirection="column" width={columns} minHeight={Math.max(1, rows - 1)}>
          <Header {...header} rows={layout.header} columns={columns} />
          <Pipeline {...pipeline} rows={layout.pipeline} columns={columns} />
          <ErrorPanel problem={shownProblem} rows={layout.error} columns={columns} />
          <SmokeTests {...tests} rows={layout.tests} columns={columns} />
          <History {...history} rows={layout.history} columns={columns} />
          <Help rows={layout.help} columns={columns} />
          <LogPane logs={logs} view={view.logView} focused={view.focus === "logs"} typing={view.typing} rows={layout.logs} columns={columns} />
          {layout.footer > 0 && <Footer {...footer} />}
        </Box>
      </ClockContext.Provider>
    </ColorsProvider>
  );
}
