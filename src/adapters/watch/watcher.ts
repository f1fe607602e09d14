import { watch, type FSWatcher } from "chokidar";
import { lstat } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import { FileHashCache } from "../docker/build-context.js";
import { contextFilterFromPatterns, isIgnoreFile, loadContextFilter, type ContextFilter } from "../docker/dockerignore.js";
import { classifyChange, type ChangeKind } from "../../core/dev/changes.js";

/**
 * Folders and files no model build needs and that churn or are huge: watching them burns CPU on
 * large trees (skaffold#8166, chokidar#860) or loops on the tool's own output (tilt#3514).
 */
const DEFAULT_IGNORES = [
  "**/.git",
  "**/.hg",
  "**/.svn",
  "**/node_modules",
  "**/__pycache__",
  "**/*.pyc",
  "**/.venv",
  "**/venv",
  "**/.mypy_cache",
  "**/.pytest_cache",
  "**/.ruff_cache",
  "**/.ipynb_checkpoints",
  "**/.tox",
  "**/.idea",
  "**/.vscode",
  "**/*.swp",
  "**/*~",
  "**/.DS_Store",
  "**/*.egg-info",
  "**/dist",
  "**/build",
  "**/.mlkube",
];

/**
 * Raw events in one batch from which it counts as a burst, and the quiet window a burst gets.
 * Few: chokidar passes at most one change event per file per 50 ms, so a one-file burst (a
 * formatter, a generator rewriting its output) shows as a handful of events; an editor's save, as one or two.
 */
const BURST_EVENTS = 3;
const BURST_QUIET_MS = 400;
/** A timer this late means the event loop was blocked. */
const STALL_MS = 50;

interface WatchOptions {
  dir: string;
  contextDir: string;
  /** Absolute path of the Dockerfile: a change to it is always a build change. */
  dockerfile?: string | undefined;
  configFiles: readonly string[];
  /** Relative to dir. */
  manifestPaths: readonly string[];
  /** mlkube.yaml watch.ignore, in .dockerignore syntax. */
  ignore: readonly string[];
  /** Quiet time before a batch is delivered; a burst keeps postponing it up to maxWaitMs. */
  debounceMs: number;
  maxWaitMs?: number | undefined;
  hashes?: FileHashCache | undefined;
  /** Stat files on a timer instead of inotify/FSEvents: slower, but needs no kernel watches. */
  usePolling?: boolean | undefined;
  onBatch: (changes: { path: string; kind: ChangeKind }[], firstEventAt: number) => void;
  /** The first change of a batch is known, before the quiet window: work the batch will need can start. */
  onBatchStarted?: (() => void) | undefined;
  onError?: ((error: unknown) => void) | undefined;
  /**
   * The files' contents (see ModelWatcher.contents) when a previous watcher of this directory
   * failed: this one reports what differs on disk as changes once its first scan is done, so an
   * edit made while watching was down is not lost.
   */
  resumeFrom?: ReadonlyMap<string, string> | undefined;
}

export interface ModelWatcher {
  ready: Promise<void>;
  /** Each watched file's content digest, by path relative to dir: what a restarted watcher resumes from. */
  contents(): ReadonlyMap<string, string>;
  close(): Promise<void>;
}

/** The kernel ran out of watches or descriptors: polling still works, inotify will not. */
export function isWatchLimit(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  return code === "ENOSPC" || code === "EMFILE";
}

export function watchModel(options: WatchOptions): ModelWatcher {
  const hashes = options.hashes ?? new FileHashCache();
  const ignored = contextFilterFromPatterns([...DEFAULT_IGNORES, ...options.ignore]);
  let contextFilter: ContextFilter = contextFilterFromPatterns([]);
  const known = new Map<string, string>(options.resumeFrom);
  const pending = new Map<string, ChangeKind>();
  let firstEventAt: number | undefined;
  /** When the last raw event arrived, before its content was hashed. */
  let lastEventAt = 0;
  let eventsInBatch = 0;
  let hashing = 0;
  let closed = false;
  let quietTimer: NodeJS.Timeout | undefined;
  let quietDueAt = 0;
  let capTimer: NodeJS.Timeout | undefined;
  const maxWaitMs = options.maxWaitMs ?? 10_000;
  // A burst (a git checkout, a generator, an editor's save-all) gets a longer quiet window: on a
  // loaded machine the writer itself can pause longer than the normal window mid-burst.
  const quietWindow = () => (eventsInBatch >= BURST_EVENTS ? Math.max(options.debounceMs, BURST_QUIET_MS) : options.debounceMs);
  const rel = (absolute: string) => relative(options.dir, absolute).split(sep).join("/");
  const inContext = (path: string) => {
    const fromContext = relative(options.contextDir, join(options.dir, path)).split(sep).join("/");
    return !fromContext.startsWith("..") && !contextFilter.excludes(fromContext);
  };
  const rules = {
    configFiles: options.configFiles,
    manifestPaths: options.manifestPaths,
    dockerfile: options.dockerfile === undefined ? undefined : rel(options.dockerfile),
    inBuildContext: inContext,
    ignored: (path: string) => ignored.excludes(path),
  };

  const deliver = () => {
    clearTimeout(quietTimer);
    clearTimeout(capTimer);
    quietTimer = capTimer = undefined;
    eventsInBatch = 0;
    // A file whose content is back where the batch found it did not change: a save of the same
    // text is a truncate and a write, and a hash read between the two saw an empty file.
    for (const [path, before] of beforeBatch) if (known.get(path) === before) pending.delete(path);
    beforeBatch.clear();
    if (pending.size === 0 || firstEventAt === undefined) {
      firstEventAt = undefined;
      return;
    }
    const changes = [...pending].map(([path, kind]) => ({ path, kind }));
    const at = firstEventAt;
    pending.clear();
    firstEventAt = undefined;
    options.onBatch(changes, at);
  };

  const armQuietTimer = (delayMs: number) => {
    quietDueAt = Date.now() + delayMs;
    quietTimer = setTimeout(checkQuiet, delayMs);
  };

  /**
   * The quiet window is measured from the last raw event, and a change still being hashed holds
   * the batch. Silence only counts while this process was awake to hear it: a timer that fires
   * late means the event loop stalled (a loaded machine), and file events from during the stall
   * may still be on their way through chokidar's own stat calls, so the window starts over.
   */
  const checkQuiet = () => {
    quietTimer = undefined;
    if (closed) return;
    const now = Date.now();
    if (now - quietDueAt > STALL_MS) return armQuietTimer(quietWindow());
    const remaining = lastEventAt + quietWindow() - now;
    if (hashing > 0 || confirming || remaining > 0) return armQuietTimer(Math.max(remaining, 10));
    confirmThenDeliver();
  };

  /**
   * Reads each changed file once more before the batch goes: chokidar can fold a second change of
   * a file into the first (a save's truncate, then its write), which would leave the digest of
   * the half-written file and report a change that is not there.
   */
  let confirming = false;
  const confirmThenDeliver = () => {
    confirming = true;
    const reread = [...beforeBatch.keys()].map(async (path) => {
      const absolute = join(options.dir, path);
      const stat = await lstat(absolute).catch(() => undefined);
      const digest = stat?.isFile() ? await hashes.hash(absolute, stat).catch(() => undefined) : undefined;
      if (digest === undefined) known.delete(path);
      else known.set(path, digest);
    });
    void Promise.all(reread).finally(() => {
      confirming = false;
      if (!closed) deliver();
    });
  };

  /** A save that leaves the content as it was is not a change. */
  const contentChanged = async (path: string, removed: boolean): Promise<boolean> => {
    if (removed) {
      if (!known.has(path)) return false;
      rememberBeforeBatch(path);
      return known.delete(path);
    }
    const absolute = join(options.dir, path);
    const stat = await lstat(absolute).catch(() => undefined);
    if (!stat?.isFile()) return false;
    const digest = await hashes.hash(absolute, stat).catch(() => undefined);
    if (digest === undefined || known.get(path) === digest) return false;
    rememberBeforeBatch(path);
    known.set(path, digest);
    return true;
  };
  /** Each changed file's digest when the batch first saw it change (undefined: it did not exist). */
  const beforeBatch = new Map<string, string | undefined>();
  const rememberBeforeBatch = (path: string) => {
    if (!beforeBatch.has(path)) beforeBatch.set(path, known.get(path));
  };

  const onEvent = (absolute: string, removed: boolean) => {
    const at = Date.now();
    const path = rel(absolute);
    const kind = classifyChange(path, rules);
    if (kind === "ignored") return;
    lastEventAt = at;
    eventsInBatch++;
    hashing++;
    void contentChanged(path, removed)
      .then(async (changed) => {
        if (!changed) return;
        if (isIgnoreFile(path, rules.dockerfile)) contextFilter = await loadContextFilter(options.contextDir, options.dockerfile);
        if (pending.size === 0 && !closed) options.onBatchStarted?.();
        pending.set(path, kind);
        firstEventAt ??= at;
        capTimer ??= setTimeout(deliver, maxWaitMs);
      }, options.onError)
      .finally(() => {
        hashing--;
        if (pending.size === 0 && hashing === 0) eventsInBatch = 0;
        if (closed) return;
        if (pending.size > 0 && !quietTimer) armQuietTimer(Math.max(lastEventAt + quietWindow() - Date.now(), 0));
      });
  };

  const watcher: FSWatcher = watch(options.dir, {
    ignoreInitial: false,
    usePolling: options.usePolling ?? false,
    // Pruning ignored folders here means chokidar never descends into them.
    ignored: (absolute) => {
      const path = rel(absolute);
      return path !== "" && !path.startsWith("..") && ignored.excludes(path);
    },
  });
  let initialScan = true;
  const baseline: Promise<unknown>[] = [];
  /** Resuming: the files found by the first scan, and those whose content differs from resumeFrom. */
  const scanned = new Set<string>();
  const differ: string[] = [];
  watcher.on("add", (absolute) => {
    // The initial scan records each file's content as the baseline; it is not a change (unless
    // it differs from what a failed watcher before this one had seen).
    if (initialScan) {
      const path = rel(absolute);
      scanned.add(path);
      const recorded = contentChanged(path, false).then((changed) => {
        if (changed && options.resumeFrom) differ.push(path);
      });
      baseline.push(recorded.catch(() => undefined));
      return;
    }
    onEvent(absolute, false);
  });
  watcher.on("change", (absolute) => onEvent(absolute, false));
  watcher.on("unlink", (absolute) => onEvent(absolute, true));
  watcher.on("error", (error) => options.onError?.(error));

  /** What changed while no watcher ran: delivered as one batch, now. */
  const resumeChanges = (changed: string[], removed: string[]) => {
    for (const path of removed) known.delete(path);
    for (const path of [...changed, ...removed]) {
      const kind = classifyChange(path, rules);
      if (kind !== "ignored") pending.set(path, kind);
    }
    if (pending.size === 0 || closed) return;
    firstEventAt ??= Date.now();
    deliver();
  };
  const ready = (async () => {
    contextFilter = await loadContextFilter(options.contextDir, options.dockerfile);
    await new Promise<void>((resolve) => watcher.once("ready", () => resolve()));
    initialScan = false;
    await Promise.all(baseline);
    // The scan's files were not changes: what a batch compares with starts here.
    for (const path of beforeBatch.keys()) if (!pending.has(path)) beforeBatch.delete(path);
    if (options.resumeFrom)
      resumeChanges(
        differ,
        [...options.resumeFrom.keys()].filter((path) => !scanned.has(path)),
      );
  })();

  return {
    ready,
    contents: () => new Map(known),
    close: async () => {
      closed = true;
      clearTimeout(quietTimer);
      clearTimeout(capTimer);
      await watcher.close();
    },
  };
}
