/** Small text helpers shared by the terminal view and the plain printer. */
import stringWidth from "./string-width-memo.js";

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
/** Decimal units, as Docker prints sizes: 950 B, 1.5 kB, 12.3 MB, 1.2 GB. */
export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  const [value, unit] = bytes < 1e6 ? [bytes / 1e3, "kB"] : bytes < 1e9 ? [bytes / 1e6, "MB"] : [bytes / 1e9, "GB"];
  return `${value.toFixed(1)} ${unit}`;
}

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
function shortPodName(pod: string): string {
  const dash = pod.lastIndexOf("-");
  return dash > 0 && dash < pod.length - 1 ? pod.slice(dash + 1) : pod;
}

// CSI sequences (colours, cursor moves, clears), OSC sequences (titles, links), other ESC pairs,
// and the remaining C0/C1 controls.
// eslint-disable-next-line no-control-regex
const CONTROL = /\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-_]|[\x00-\x08\x0b-\x1f\x7f-\x9f]/g;

// U+FE0E and U+FE0F ask for text or emoji presentation of the character before them. Terminals
// that size characters by wcwidth (tmux, VTE, xterm) ignore them, while Ink measures an
// emoji-presented "🕹️" as two columns: a one-column difference shifts a box's right border, or
// wraps a full-width line, and Ink's line-by-line redraw then leaves stale rows behind. Without
// the selector both sides agree on the width.
const PRESENTATION_SELECTOR = /[\uFE0E\uFE0F]/g;
// Half of a UTF-16 pair, left by text cut in the wrong place: terminals draw it as "�".
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * Text the terminal draws exactly as wide as Ink measures it: no colours or cursor movements
 * (they would break the layout, and NO_COLOR), no other control characters, tabs as two spaces
 * (a terminal moves a tab to the next stop; Ink counts it as nothing), no presentation selectors
 * and no broken characters. Newlines stay, for the caller to wrap or join.
 */
function terminalText(text: string): string {
  return text.replace(/\r\n/g, "\n").replace(/\t/g, "  ").replace(CONTROL, "").replace(PRESENTATION_SELECTOR, "").replace(LONE_SURROGATE, "");
}

/** One row of terminal text: newlines become spaces. */
export function oneRow(text: string): string {
  return terminalText(text).replace(/\n/g, " ");
}

/**
 * A log line as plain text that takes exactly one row (see terminalText). A carriage return
 * means "overwrite" (tqdm's progress bars), so only what follows the last one is shown.
 */
export function cleanLogText(text: string): string {
  const line = text.replace(/\r\n/g, "\n").replace(/[\r\n]+$/, "");
  return terminalText(line.slice(line.lastIndexOf("\r") + 1)).replace(/\n/g, " ⏎ ");
}

/** The columns `text` takes in a terminal: wide (CJK, emoji) characters count two. */
export function textWidth(text: string): number {
  return stringWidth(text);
}

const graphemes = new Intl.Segmenter(undefined, { granularity: "grapheme" });

/**
 * The longest start of `text` that fits `width` columns, cut between graphemes: never inside a
 * character, a UTF-16 pair or an emoji sequence.
 */
export function startWithin(text: string, width: number): string {
  let used = 0;
  let end = 0;
  for (const { segment, index } of graphemes.segment(text)) {
    used += stringWidth(segment);
    if (used > width) break;
    end = index + segment.length;
  }
  return text.slice(0, end);
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
  for (const paragraph of terminalText(text).split("\n")) {
    let line = "";
    let used = 0;
    for (let word of paragraph.split(" ")) {
      let width = textWidth(word);
      while (width > limit) {
        if (line) lines.push(line);
        line = "";
        used = 0;
        // A character wider than the whole line (two columns in one) goes on a line of its own.
        const cut = startWithin(word, limit) || ([...graphemes.segment(word)][0]?.segment ?? word);
        lines.push(cut);
        word = word.slice(cut.length);
        width = textWidth(word);
      }
      if (!line) {
        line = word;
        used = width;
      } else if (used + 1 + width <= limit) {
        line += ` ${word}`;
        used += 1 + width;
      } else {
        lines.push(line);
        line = word;
        used = width;
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

/** At most `width` columns: cut with an ellipsis when longer, never padded. */
export function truncateEnd(text: string, width: number): string {
  if (textWidth(text) <= width) return text;
  return width <= 0 ? "" : `${startWithin(text, width - 1)}…`;
}

/** Exactly `width` columns: cut with an ellipsis or padded, for columns that line up. */
export function fitWidth(text: string, width: number): string {
  const clean = oneRow(text);
  const used = textWidth(clean);
  if (used <= width) return clean + " ".repeat(width - used);
  if (width <= 0) return "";
  const head = startWithin(clean, width - 1);
  // A wide character that did not fit leaves one column for padding.
  return `${head}…${" ".repeat(Math.max(0, width - 1 - textWidth(head)))}`;
}

/** "pod/container", or the pod alone for a notice about the whole pod. */
export function logSource(line: { pod: string; container: string }, short = false): string {
  const pod = short ? shortPodName(line.pod) : line.pod;
  return line.container ? `${pod}/${line.container}` : pod;
}
