/** Small text helpers shared by the terminal view and the plain printer. */

/** "420ms", "4.2s", "1m05s": precise where a person compares iterations, short where it is long. */
export function formatMs(ms: number): string {
  const value = Math.max(0, ms);
  if (value < 1000) return `${Math.round(value)}ms`;
  if (value < 60_000) return `${(value / 1000).toFixed(1)}s`;
  const minutes = Math.floor(value / 60_000);
  const seconds = Math.floor((value % 60_000) / 1000);
  if (minutes < 60) return `${minutes}m${String(seconds).padStart(2, "0")}s`;
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, "0")}m`;
}

/** A fixed-width bar: "████░░░░░░". */
export function progressBar(current: number, total: number, width: number): string {
  const ratio = total > 0 ? Math.min(1, Math.max(0, current / total)) : 0;
  const filled = Math.round(ratio * width);
  return "█".repeat(filled) + "░".repeat(width - filled);
}

const SPARKS = "▁▂▃▄▅▆▇█";

/** One block per value, scaled between the smallest and the largest. */
export function sparkline(values: readonly number[]): string {
  if (values.length === 0) return "";
  const low = Math.min(...values);
  const span = Math.max(...values) - low;
  return values.map((value) => SPARKS[span === 0 ? 3 : Math.round(((value - low) / span) * (SPARKS.length - 1))]).join("");
}

/**
 * A pod's distinguishing part: "iris-7d9f8c6b5-x2k4q" -> "x2k4q". Pods of one Deployment share
 * everything else, so on a narrow screen the suffix is what tells their lines apart.
 */
export function shortPodName(pod: string): string {
  const dash = pod.lastIndexOf("-");
  return dash > 0 && dash < pod.length - 1 ? pod.slice(dash + 1) : pod;
}

// CSI sequences (colours, cursor moves, clears), OSC sequences (titles, links), other ESC pairs,
// and the remaining C0/C1 controls.
// eslint-disable-next-line no-control-regex
const CONTROL = /\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-_]|[\x00-\x08\x0b-\x1f\x7f-\x9f]/g;

/**
 * A log line as plain text that takes exactly one row: a pod's own colours or cursor movements
 * would break the layout (and NO_COLOR), tabs and newlines would break the width. A carriage
 * return means "overwrite" (tqdm's progress bars), so only what follows the last one is shown.
 */
export function cleanLogText(text: string): string {
  const line = text.replace(/\r\n/g, "\n").replace(/[\r\n]+$/, "");
  return line.slice(line.lastIndexOf("\r") + 1).replace(/\t/g, "  ").replace(/\n/g, " ⏎ ").replace(CONTROL, "");
}

/** "1,234" */
export function formatCount(count: number): string {
  return count.toLocaleString("en-US");
}

/**
 * Word-wrapped to `width` columns, long words (image references, URLs) cut: a section that wraps
 * its own text knows its height before rendering.
 */
export function wrapText(text: string, width: number): string[] {
  const limit = Math.max(1, width);
  const lines: string[] = [];
  for (const paragraph of text.split("\n")) {
    let line = "";
    for (let word of paragraph.split(" ")) {
      while (word.length > limit) {
        if (line) lines.push(line);
        line = "";
        lines.push(word.slice(0, limit));
        word = word.slice(limit);
      }
      if (!line) line = word;
      else if (line.length + 1 + word.length <= limit) line += ` ${word}`;
      else {
        lines.push(line);
        line = word;
      }
    }
    lines.push(line);
  }
  return lines;
}

/** The first items that fit `budget` rows, leaving the last row to say how many did not. */
export function clip<T>(items: readonly T[], budget: number): { shown: T[]; hidden: number } {
  if (items.length <= budget) return { shown: [...items], hidden: 0 };
  const shown = items.slice(0, Math.max(0, budget - 1));
  return { shown, hidden: items.length - shown.length };
}

/** Exactly `width` characters: cut with an ellipsis or padded, for columns that line up. */
export function fitWidth(text: string, width: number): string {
  return text.length > width ? `${text.slice(0, Math.max(0, width - 1))}…` : text.padEnd(width);
}

/** "pod/container", or the pod alone for a notice about the whole pod. */
export function logSource(line: { pod: string; container: string }, short = false): string {
  const pod = short ? shortPodName(line.pod) : line.pod;
  return line.container ? `${pod}/${line.container}` : pod;
}
