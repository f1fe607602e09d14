/**
 * Shares the terminal's rows between the sections. Every line the view prints is exactly one row
 * (text is truncated, never wrapped), so heights are known before rendering and the view never
 * grows past the screen: Ink repaints the whole terminal, flickering, once its output reaches the
 * last row. Sections are served in order of what a person needs to act on; history and then logs
 * give way first on a small screen.
 */

interface SectionNeeds {
  header: number;
  pipeline: number;
  error: number;
  tests: number;
  history: number;
  /** The help overlay replaces error, tests, history and logs while shown. */
  help: number;
}

interface Layout {
  header: number;
  pipeline: number;
  footer: number;
  error: number;
  tests: number;
  history: number;
  /** Rows for the log pane, its title included; 0 hides it. */
  logs: number;
  help: number;
}

/** Below this the log pane is not worth its title line. */
const MIN_LOG_ROWS = 3;
/** Rows the log pane keeps before history is served: live output beats old timings. */
const LOG_RESERVE = 6;

export function layoutRows(rows: number, needs: SectionNeeds): Layout {
  let free = Math.max(1, rows - 1);
  const take = (want: number) => {
    const granted = Math.max(0, Math.min(want, free));
    free -= granted;
    return granted;
  };
  const header = take(needs.header);
  const pipeline = take(needs.pipeline);
  const footer = take(1);
  if (needs.help > 0) return { header, pipeline, footer, error: 0, tests: 0, history: 0, logs: 0, help: take(needs.help) };
  const error = take(needs.error);
  const tests = take(needs.tests);
  const history = take(Math.min(needs.history, free - Math.min(free, LOG_RESERVE)));
  const logs = free >= MIN_LOG_ROWS ? take(free) : 0;
  return { header, pipeline, footer, error, tests, history, logs, help: 0 };
}
