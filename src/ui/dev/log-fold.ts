/**
 * Probe and health-check noise folded: a run of consecutive lines (in the filtered view) from one
 * container that are the same GET or HEAD request apart from their digits (time stamps, client
 * ports, latencies) shows as one row, the newest of them, with a count. Readiness and liveness
 * probes write such a line every few seconds in werkzeug's, uvicorn's, gunicorn's and nginx's
 * access logs, and would otherwise bury the lines that matter.
 *
 * Only GET and HEAD requests fold: probes use GET (the kubelet's httpGet, user agent
 * "kube-probe/1.xx"), while the model's POSTs (predictions) are the signal. Everything here runs
 * when the pane reads its window (a few times a second, bounded by the store), never per appended
 * line; the test for a candidate is two substring checks, and the shape is one pass over the text.
 */
import { matcher, type LogEntry, type LogFilter, type LogStore } from "../../engine/log-store.js";

export interface FoldedLine {
  /** The newest line of the run. */
  entry: LogEntry;
  /** Lines the row stands for (1: not folded). */
  count: number;
}

/** A line that may fold: an HTTP GET/HEAD access-log line, or a kubelet probe's. */
function isProbeLike(text: string): boolean {
  if (text.includes("kube-probe/")) return true;
  return text.includes(" HTTP/") && (text.includes("GET ") || text.includes("HEAD "));
}

/** The text with each run of digits as one "#": lines of one shape differ only in numbers. */
export function foldShape(text: string): string | undefined {
  if (!isProbeLike(text)) return undefined;
  let shape = "";
  let inDigits = false;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    const digit = code >= 48 && code <= 57;
    if (!digit) shape += text[index];
    else if (!inDigits) shape += "#";
    inDigits = digit;
  }
  return shape;
}

/**
 * Shapes of lines already read: the pane reads the same lines again at each refresh, and a store
 * full of probe lines (5,000 of them in one run) would otherwise be re-shaped each time. Entries
 * are the keys, so evicted lines leave the cache with them.
 */
const shapes = new WeakMap<LogEntry, string | null>();

function shapeOf(entry: LogEntry): string | undefined {
  if (entry.kind !== "log") return undefined;
  let shape = shapes.get(entry);
  if (shape === undefined) shapes.set(entry, (shape = foldShape(entry.text) ?? null));
  return shape ?? undefined;
}

function sameRun(a: LogEntry, aShape: string | undefined, b: LogEntry): boolean {
  return aShape !== undefined && a.pod === b.pod && a.container === b.container && shapeOf(b) === aShape;
}

/** Up to `rows` rows ending at `endSeq` (default the newest), oldest first, runs folded. */
export function foldedTail(logs: LogStore, filter: LogFilter, rows: number, endSeq = logs.latestSeq): FoldedLine[] {
  const matches = matcher(filter);
  const folded: FoldedLine[] = [];
  let shape: string | undefined;
  if (rows <= 0) return folded;
  // The pane's read: without it every line a flood pushed out counted as dropped though the pane
  // had shown the store's newest lines a moment before.
  logs.markRead();
  logs.scanBack(endSeq, (entry) => {
    if (!matches(entry)) return true;
    const last = folded[folded.length - 1];
    // The newest line of a run is met first: older lines of the same shape join its count.
    if (last && sameRun(last.entry, shape, entry)) {
      last.count++;
      return true;
    }
    if (folded.length === rows) return false;
    folded.push({ entry, count: 1 });
    shape = shapeOf(entry);
    return true;
  });
  return folded.reverse();
}

/**
 * The seq that puts the bottom row `delta` rows away from the row ending at `fromSeq` (negative:
 * older), as the store's seek does for lines: scrolling by rows, not by the lines a row folds.
 * Undefined when nothing matches.
 */
export function foldedSeek(logs: LogStore, filter: LogFilter, fromSeq: number, delta: number): number | undefined {
  if (delta <= 0) return foldedTail(logs, filter, 1 - delta, fromSeq)[0]?.entry.seq;
  const matches = matcher(filter);
  let runEnd: LogEntry | undefined = logs.tail(filter, 1, fromSeq)[0];
  let shape = runEnd && shapeOf(runEnd);
  let remaining = delta;
  let found: number | undefined;
  logs.scan(fromSeq + 1, (entry) => {
    if (!matches(entry)) return true;
    if (runEnd && sameRun(runEnd, shape, entry)) {
      // The row grows: its newest line moves down, the row count does not.
      runEnd = entry;
      if (found !== undefined) found = entry.seq;
      return true;
    }
    if (remaining === 0) return false;
    remaining--;
    runEnd = entry;
    shape = shapeOf(entry);
    found = entry.seq;
    return true;
  });
  return found ?? runEnd?.seq;
}
