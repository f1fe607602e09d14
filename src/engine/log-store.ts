/**
 * The dev loop's log lines, kept apart from the engine state (Tilt's log store): a bounded ring
 * buffer that renderers read at their own pace. Appending is O(1) and allocates nothing but the
 * line itself, so a pod printing thousands of lines per second costs no React work; the terminal
 * view reads a window of it on a timer, the plain printer reads "everything since my checkpoint".
 *
 * Counting, precisely:
 * - `received`: every line ever appended.
 * - `dropped`: lines that were evicted (by the line or byte cap) before any reader had read the
 *   store after they arrived. A read (`since` or `tail`) gives the reader access to every line
 *   held at that moment (the terminal view can scroll back to any of them), so a line only counts
 *   as dropped when it arrived and was pushed out between two reads: output that nobody could
 *   ever have seen. Old lines scrolling out of the buffer after being readable are not counted.
 */

export interface LogEntry {
  /** 1, 2, 3, ... in arrival order; never reused. */
  seq: number;
  pod: string;
  /** Empty for notices about the pod as a whole. */
  container: string;
  /** RFC 3339: the kubelet's stamp for log lines, arrival time for notices. */
  time: string;
  text: string;
  /** "notice": mlkube's own remark about the pods (a restart, a crash's last lines). */
  kind: "log" | "notice";
}

interface LogInput {
  pod: string;
  container: string;
  text: string;
  time?: string | undefined;
  kind?: LogEntry["kind"] | undefined;
}

export interface LogFilter {
  /** Only this pod's lines. */
  pod?: string | undefined;
  /** Only this container's lines (with `pod`, one container of one pod). */
  container?: string | undefined;
  /** Case-insensitive substring of the text. */
  search?: string | undefined;
  /** A regular expression the text must match (see engine/log-filter.ts); without the `g` flag. */
  pattern?: RegExp | undefined;
  /** Hide lines older than this seq (the view's "clear"). */
  fromSeq?: number | undefined;
}

interface LogStoreOptions {
  /** Lines kept; default 5,000. */
  capacity?: number | undefined;
  /** UTF-8 bytes of text kept; default 4 MiB. */
  maxBytes?: number | undefined;
  /** Longer lines are cut (a model dumping a tensor on one line); default 8 KiB of characters. */
  maxLineLength?: number | undefined;
  /** Subscribers hear about new lines at most this often; default 50 ms. */
  notifyIntervalMs?: number | undefined;
  now?: (() => Date) | undefined;
}

export class LogStore {
  private readonly capacity: number;
  private readonly maxBytes: number;
  private readonly maxLineLength: number;
  private readonly notifyIntervalMs: number;
  private readonly now: () => Date;
  /** slot = seq % capacity; slots outside [firstSeq, nextSeq) are undefined. */
  private readonly entries: (LogEntry | undefined)[];
  private readonly sizes: Uint32Array;
  private firstSeq = 1;
  private nextSeq = 1;
  private heldBytes = 0;
  /** Every line below this seq was held when some reader last read the store. */
  private readUpTo = 1;
  private droppedCount = 0;
  /** Lines held per pod, then per container: two lookups per line, no key built per line. */
  private readonly sourceCounts = new Map<string, Map<string, number>>();
  private readonly listeners = new Set<() => void>();
  private notifyTimer: ReturnType<typeof setTimeout> | undefined;
  private lastNotifyAt = -Infinity;

  constructor(options: LogStoreOptions = {}) {
    this.capacity = Math.max(1, options.capacity ?? 5_000);
    this.maxBytes = Math.max(1, options.maxBytes ?? 4 * 1024 * 1024);
    this.maxLineLength = Math.max(1, options.maxLineLength ?? 8 * 1024);
    this.notifyIntervalMs = options.notifyIntervalMs ?? 50;
    this.now = options.now ?? (() => new Date());
    this.entries = new Array<LogEntry | undefined>(this.capacity).fill(undefined);
    this.sizes = new Uint32Array(this.capacity);
  }

  append(input: LogInput): void {
    const text =
      input.text.length > this.maxLineLength
        ? `${input.text.slice(0, this.maxLineLength)}… (${input.text.length - this.maxLineLength} more characters)`
        : input.text;
    const entry: LogEntry = {
      seq: this.nextSeq,
      pod: input.pod,
      container: input.container,
      time: input.time ?? this.now().toISOString(),
      text,
      kind: input.kind ?? "log",
    };
    const bytes = Buffer.byteLength(text, "utf8");
    while (this.size > 0 && (this.size >= this.capacity || this.heldBytes + bytes > this.maxBytes)) this.evictOldest();
    const slot = entry.seq % this.capacity;
    this.entries[slot] = entry;
    this.sizes[slot] = bytes;
    this.heldBytes += bytes;
    this.nextSeq++;
    let containers = this.sourceCounts.get(entry.pod);
    if (!containers) this.sourceCounts.set(entry.pod, (containers = new Map()));
    containers.set(entry.container, (containers.get(entry.container) ?? 0) + 1);
    this.scheduleNotify();
  }

  /** mlkube's own remark about a pod: the message, then any lines it quotes (a crash's last output). */
  appendNotice(notice: { pod: string; message: string; lines?: readonly string[] | undefined }): void {
    this.append({ pod: notice.pod, container: "", text: notice.message, kind: "notice" });
    for (const line of notice.lines ?? []) this.append({ pod: notice.pod, container: "", text: `  ${line}`, kind: "notice" });
  }

  get received(): number {
    return this.nextSeq - 1;
  }

  get dropped(): number {
    return this.droppedCount;
  }

  /** Lines held now. */
  get size(): number {
    return this.nextSeq - this.firstSeq;
  }

  get bytes(): number {
    return this.heldBytes;
  }

  /** The newest line's seq (0 before any); changes exactly when a line arrives. */
  get latestSeq(): number {
    return this.nextSeq - 1;
  }

  /** The oldest line's seq still held (latestSeq + 1 when empty). */
  get oldestSeq(): number {
    return this.firstSeq;
  }

  /** Pods with lines held, in first-seen order. */
  pods(): string[] {
    return [...this.sourceCounts.keys()];
  }

  /** Pods with lines held and their containers ("" for mlkube's notices), in first-seen order. */
  sources(): { pod: string; containers: string[] }[] {
    return [...this.sourceCounts].map(([pod, containers]) => ({ pod, containers: [...containers.keys()] }));
  }

  /** A position in the stream: `since(checkpoint())` later returns exactly the lines appended in between. */
  checkpoint(): number {
    return this.nextSeq;
  }

  /**
   * Lines appended since the checkpoint, the checkpoint to ask with next time, and how many lines
   * after the old checkpoint were already evicted (this reader missed them).
   */
  since(checkpoint: number): { lines: LogEntry[]; checkpoint: number; missed: number } {
    this.markRead();
    const from = Math.max(checkpoint, this.firstSeq);
    const lines: LogEntry[] = [];
    for (let seq = from; seq < this.nextSeq; seq++) lines.push(this.at(seq));
    return { lines, checkpoint: this.nextSeq, missed: Math.max(0, this.firstSeq - Math.max(checkpoint, 1)) };
  }

  /** The latest `limit` lines matching the filter, up to and including `endSeq` (default: the newest), oldest first. */
  tail(filter: LogFilter, limit: number, endSeq = this.latestSeq): LogEntry[] {
    this.markRead();
    const matches = matcher(filter);
    const lines: LogEntry[] = [];
    for (let seq = Math.min(endSeq, this.latestSeq); seq >= this.firstSeq && lines.length < limit; seq--) {
      const entry = this.at(seq);
      if (matches(entry)) lines.push(entry);
    }
    return lines.reverse();
  }

  /**
   * The seq of the matching line `delta` matching lines away from `fromSeq` (negative: older),
   * stopping at the oldest or newest match. Counting starts from the nearest match at or before
   * `fromSeq`, so a position that the filter hides still anchors. Undefined when nothing matches
   * there. Scrolling uses it.
   */
  seek(filter: LogFilter, fromSeq: number, delta: number): number | undefined {
    const matches = matcher(filter);
    let found: number | undefined;
    if (delta <= 0) {
      let remaining = -delta;
      for (let seq = Math.min(fromSeq, this.latestSeq); seq >= this.firstSeq; seq--) {
        if (!matches(this.at(seq))) continue;
        found = seq;
        if (remaining-- === 0) break;
      }
      return found;
    }
    let remaining = delta;
    for (let seq = Math.max(fromSeq + 1, this.firstSeq); seq < this.nextSeq; seq++) {
      if (!matches(this.at(seq))) continue;
      found = seq;
      if (--remaining === 0) break;
    }
    return found ?? this.seek(filter, fromSeq, 0);
  }

  /**
   * Visits the held lines from `fromSeq` to the newest, oldest first, until `visit` returns false.
   * Unlike `since` it allocates nothing and does not count as a read: for indexes over the store.
   */
  scan(fromSeq: number, visit: (entry: LogEntry) => boolean | void): void {
    for (let seq = Math.max(fromSeq, this.firstSeq); seq < this.nextSeq; seq++) if (visit(this.at(seq)) === false) return;
  }

  /** Like `scan`, newest first, from `fromSeq` down to the oldest held line. */
  scanBack(fromSeq: number, visit: (entry: LogEntry) => boolean | void): void {
    for (let seq = Math.min(fromSeq, this.latestSeq); seq >= this.firstSeq; seq--) if (visit(this.at(seq)) === false) return;
  }

  /** Called at most once per notify interval however many lines arrive. */
  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** For the diagnostics event: a count that keeps rising is a subscription never undone. */
  get subscriberCount(): number {
    return this.listeners.size;
  }

  private at(seq: number): LogEntry {
    const entry = this.entries[seq % this.capacity];
    if (!entry) throw new Error(`log store: seq ${seq} is not held`);
    return entry;
  }

  private evictOldest(): void {
    const slot = this.firstSeq % this.capacity;
    const entry = this.at(this.firstSeq);
    this.entries[slot] = undefined;
    this.heldBytes -= this.sizes[slot] ?? 0;
    const containers = this.sourceCounts.get(entry.pod);
    const left = (containers?.get(entry.container) ?? 1) - 1;
    if (left > 0) containers?.set(entry.container, left);
    else {
      containers?.delete(entry.container);
      if (containers?.size === 0) this.sourceCounts.delete(entry.pod);
    }
    if (this.firstSeq >= this.readUpTo) this.droppedCount++;
    this.firstSeq++;
  }

  /**
   * A reader saw a window of the store: every line held now is within its reach (the terminal view
   * scrolls back to any of them), so none of them counts as dropped when pushed out later. `since`
   * and `tail` do this themselves; a view built with `scanBack` calls it.
   */
  markRead(): void {
    this.readUpTo = this.nextSeq;
  }

  private scheduleNotify(): void {
    if (this.notifyTimer || this.listeners.size === 0) return;
    const wait = Math.max(0, this.lastNotifyAt + this.notifyIntervalMs - performance.now());
    this.notifyTimer = setTimeout(() => {
      this.notifyTimer = undefined;
      this.lastNotifyAt = performance.now();
      for (const listener of [...this.listeners]) listener();
    }, wait);
    // Pending log news must not keep a quitting process alive.
    this.notifyTimer.unref?.();
  }
}

export function matcher(filter: LogFilter): (entry: LogEntry) => boolean {
  const search = filter.search?.toLowerCase();
  const fromSeq = filter.fromSeq ?? 0;
  const { pod, container, pattern } = filter;
  return (entry) =>
    entry.seq >= fromSeq &&
    (pod === undefined || entry.pod === pod) &&
    (container === undefined || entry.container === container) &&
    (!search || entry.text.toLowerCase().includes(search)) &&
    (!pattern || pattern.test(entry.text));
}
