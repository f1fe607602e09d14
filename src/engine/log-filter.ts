/**
 * What a log search means, shared by the dev view's `/` and `mlkube logs --grep`: plain text is a
 * case-insensitive substring; text after `re:` is a case-insensitive regular expression. A prefix
 * rather than a mode toggle, so one typed string says everything (and a flag takes it as is).
 *
 * Also the log pane's per-filter index (match count, lines below a pinned view) and what counts
 * as an error line for `e`.
 */
import { matcher, type LogEntry, type LogFilter, type LogStore } from "./log-store.js";

export const REGEX_PREFIX = "re:";

type ParsedSearch =
  { search?: string | undefined; pattern?: RegExp | undefined; error?: undefined } | { error: string; search?: undefined; pattern?: undefined };

/** "" → no search; "re:…" → a regex (or why it is not one); anything else → a substring. */
export function parseSearch(input: string): ParsedSearch {
  if (!input.startsWith(REGEX_PREFIX)) return input === "" ? {} : { search: input };
  const source = input.slice(REGEX_PREFIX.length);
  if (source === "") return {};
  try {
    return { pattern: new RegExp(source, "i") };
  } catch (error) {
    // V8 says "Invalid regular expression: /(/i: Unterminated group": the last part is the reason.
    const reason = (error as Error).message.split(": ").at(-1) ?? "not a regular expression";
    return { error: `invalid regular expression “${source}”: ${reason}` };
  }
}

/**
 * The seqs of the held lines matching one filter, kept up to date by reading only the lines that
 * arrived since the last update: the count of matches and "how many matching lines are newer than
 * the pinned view" cost a binary search, not a pass over the store, at each refresh.
 */
export class MatchIndex {
  private readonly matches: (entry: LogEntry) => boolean;
  private seqs: number[] = [];
  /** seqs[0 .. head) are evicted from the store and no longer count. */
  private head = 0;
  private scannedTo = 0;

  constructor(filter: LogFilter) {
    this.matches = matcher(filter);
  }

  update(logs: LogStore): void {
    const oldest = logs.oldestSeq;
    while (this.head < this.seqs.length && (this.seqs[this.head] ?? 0) < oldest) this.head++;
    // Compact now and then, so the array stays bounded by the store's capacity.
    if (this.head > 1024 && this.head * 2 > this.seqs.length) {
      this.seqs = this.seqs.slice(this.head);
      this.head = 0;
    }
    logs.scan(Math.max(this.scannedTo + 1, oldest), (entry) => {
      if (this.matches(entry)) this.seqs.push(entry.seq);
    });
    this.scannedTo = logs.latestSeq;
  }

  get count(): number {
    return this.seqs.length - this.head;
  }

  /** Matching lines with a seq above `seq`. */
  newerThan(seq: number): number {
    let low = this.head;
    let high = this.seqs.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if ((this.seqs[middle] ?? 0) <= seq) low = middle + 1;
      else high = middle;
    }
    return this.seqs.length - low;
  }
}

// A level as loggers print it (Python's "ERROR", logfmt's "level=error", a JSON "level":"error"),
// or the first line of a Python traceback. Lower-case "error" in prose ("0 errors", "no error")
// is not a level. "ValueError: …" is deliberately not here: it ends a traceback, whose start is
// the line worth jumping to.
const LEVEL = "(?:error|ERROR|Error|critical|CRITICAL|fatal|FATAL)";
const ERROR_LINE = new RegExp(
  `\\b(?:ERROR|CRITICAL|FATAL|PANIC)\\b|level=${LEVEL}\\b|"(?:level|levelname|severity)":\\s*"${LEVEL}"|^\\s*Traceback \\(most recent call last\\)`,
);

/** Whether a line starts an error report: what `e` jumps to. */
export function isErrorLine(text: string): boolean {
  return ERROR_LINE.test(text);
}

/** The newest error line matching `filter` at or before `beforeSeq`, or undefined. */
export function lastErrorSeq(logs: LogStore, filter: LogFilter, beforeSeq: number): number | undefined {
  const matches = matcher(filter);
  let found: number | undefined;
  logs.scanBack(beforeSeq, (entry) => {
    if (!matches(entry) || !isErrorLine(entry.text)) return true;
    found = entry.seq;
    return false;
  });
  return found;
}

/** A `--pod` value: "NAME" (any pod whose name contains it) or "NAME/CONTAINER" (and that container). */
interface SourceQuery {
  pod: string;
  container: string | undefined;
}

export function parseSourceQuery(text: string): SourceQuery {
  const slash = text.indexOf("/");
  return slash === -1 ? { pod: text, container: undefined } : { pod: text.slice(0, slash), container: text.slice(slash + 1) || undefined };
}

/**
 * `mlkube logs --grep … --pod …` as one test per line: the same search syntax as the dev view's
 * `/`; a pod matched by part of its name, as the generated names (iris-7d9f8c6b5-x2k4q) are not
 * typed whole. Notices (container "") pass the container test: they are about the pod.
 */
export function lineFilter(grep: ParsedSearch, source: SourceQuery | undefined): (line: { pod: string; container: string; text: string }) => boolean {
  const search = grep.search?.toLowerCase();
  const pattern = grep.pattern;
  return (line) =>
    (!source || (line.pod.includes(source.pod) && (source.container === undefined || line.container === "" || line.container === source.container))) &&
    (!search || line.text.toLowerCase().includes(search)) &&
    (!pattern || pattern.test(line.text));
}
