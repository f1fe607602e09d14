/**
 * The log pane's rows as finished terminal text: each row styled and cut to the pane's width
 * here, so Ink draws the whole window as one Text (one layout node, one measurement, one React
 * element) instead of four or five nested Texts per line. Under a 5,000 lines/s flood the nested
 * form cost Ink and React more than the drawing itself (profiled: issue #15).
 *
 * Styles go through chalk, the colouriser Ink's own Text uses, so a terminal without colours
 * (TERM=dumb, not a TTY) gets none here either; NO_COLOR is the pane's `colors` flag.
 */
import chalk from "chalk";
import type { LogEntry } from "../../engine/log-store.js";
import { cleanLogText, fitWidth, formatCount, oneRow, startWithin, textWidth } from "./format.js";
import { compactJsonLine } from "./json-log.js";
import type { FoldedLine } from "./log-fold.js";
import { podColor } from "./theme.js";

type Style = (text: string) => string;

interface Segment {
  text: string;
  style?: Style | undefined;
}

interface RowOptions {
  /** The pane's width: no row is wider. */
  columns: number;
  /** The source column's width (pod/container), the same for every row on screen. */
  prefixWidth: number;
  /** The line `e` jumped to, marked with ▶. */
  mark: number | undefined;
  /** JSON lines as written, not compacted. */
  raw: boolean;
  colors: boolean;
}

/**
 * The separator between source and text. ASCII on purpose: a row with any other character
 * takes string-width's slow path (grapheme segmentation) each time Ink measures it, twice a frame.
 */
const SEPARATOR = " | ";

export function logRow({ entry, count }: FoldedLine, source: string, options: RowOptions): string {
  const segments: Segment[] = [
    { text: fitWidth(source, options.prefixWidth), style: chalk[podColor(entry.pod)] },
    entry.seq === options.mark ? { text: " ▶ ", style: chalk.red } : { text: SEPARATOR, style: chalk.dim },
  ];
  if (count > 1) segments.push({ text: `×${formatCount(count)} `, style: chalk.cyan });
  segments.push(...lineText(entry, options.raw));
  return fitSegments(segments, options.columns, options.colors);
}

function lineText(line: LogEntry, raw: boolean): Segment[] {
  if (line.kind === "notice") return [{ text: `! ${cleanLogText(line.text)}`, style: chalk.yellow }];
  const json = raw ? undefined : compactJsonLine(line.text);
  if (!json) return [{ text: cleanLogText(line.text) }];
  const segments: Segment[] = [];
  if (json.level !== undefined) segments.push({ text: `${oneRow(json.level).padEnd(5)} `, style: levelStyle(json.level) });
  segments.push({ text: cleanLogText(json.message) });
  if (json.otherFields > 0) segments.push({ text: ` +${json.otherFields} fields`, style: chalk.dim });
  return segments;
}

function levelStyle(level: string): Style | undefined {
  if (/^(ERROR|CRITICAL|FATAL|PANIC)/.test(level)) return chalk.red;
  if (level.startsWith("WARN")) return chalk.yellow;
  if (level === "DEBUG" || level === "TRACE") return chalk.gray;
  return undefined;
}

/** The segments styled and joined, cut with an ellipsis where the row would pass `columns`. */
function fitSegments(segments: Segment[], columns: number, colors: boolean): string {
  const style = (segment: Segment, text: string) => (colors && segment.style && text ? segment.style(text) : text);
  const widths = segments.map((segment) => textWidth(segment.text));
  if (widths.reduce((sum, width) => sum + width, 0) <= columns) return segments.map((segment) => style(segment, segment.text)).join("");
  let row = "";
  let room = Math.max(0, columns - 1);
  for (const [index, segment] of segments.entries()) {
    const width = widths[index] ?? 0;
    if (width <= room) {
      row += style(segment, segment.text);
      room -= width;
      continue;
    }
    row += style(segment, startWithin(segment.text, room));
    break;
  }
  return columns > 0 ? `${row}…` : "";
}
