import { watch, type FSWatcher } from "chokidar";
import { lstat } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import { FileHashCache } from "../docker/build-context.js";
import { contextFilterFromPatterns, loadContextFilter, type ContextFilter } from "../docker/dockerignore.js";
import { classifyChange, type ChangeKind } from "../../core/dev/changes.js";

/**
 * Folders and files no model build needs and that churn or are huge: watching them burns CPU on
 * large trees (skaffold#8166, chokidar#860) or loops on the tool's own output (tilt#3514).
 */
export const DEFAULT_IGNORES = [
  "**/.git", "**/.hg", "**/.svn", "**/node_modules", "**/__pycache__", "**/*.pyc", "**/.venv", "**/venv",
  "**/.mypy_cache", "**/.pytest_cache", "**/.ruff_cache", "**/.ipynb_checkpoints", "**/.tox", "**/.idea",
  "**/.vscode", "**/*.swp", "**/*~", "**/.DS_Store", "**/*.egg-info", "**/dist", "**/build", "**/.mlkube",
];

export interface WatchOptions {
  dir: string;
  contextDir: string;
  configFiles: readonly string[];
  /** Relative to dir. */
  manifestPaths: readonly string[];
  /** mlkube.yaml watch.ignore, in .dockerignore syntax. */
  ignore: readonly string[];
  /** Quiet time before a batch is delivered; a burst keeps postponing it up to maxWaitMs. */
  debounceMs: number;
  maxWaitMs?: number | undefined;
  hashes?: FileHashCache | undefined;
  onBatch: (changes: { path: string; kind: ChangeKind }[], firstEventAt: number) => void;
  onError?: ((error: unknown) => void) | undefined;
}

export interface ModelWatcher {
  ready: Promise<void>;
  close(): Promise<void>;
}

export function watchModel(options: WatchOptions): ModelWatcher {
  const hashes = options.hashes ?? new FileHashCache();
  const ignored = contextFilterFromPatterns([...DEFAULT_IGNORES, ...options.ignore]);
  let contextFilter: ContextFilter = contextFilterFromPatterns([]);
  const known = new Map<string, string>();
  const pending = new Map<string, ChangeKind>();
  let firstEventAt: number | undefined;
  let quietTimer: NodeJS.Timeout | undefined;
  let capTimer: NodeJS.Timeout | undefined;
  const maxWaitMs = options.maxWaitMs ?? 10_000;

  const rel = (absolute: string) => relative(options.dir, absolute).split(sep).join("/");
  const inContext = (path: string) => {
    const fromContext = relative(options.contextDir, join(options.dir, path)).split(sep).join("/");
    return !fromContext.startsWith("..") && !contextFilter.excludes(fromContext);
  };
  const rules = { configFiles: options.configFiles, manifestPaths: options.manifestPaths, inBuildContext: inContext, ignored: (path: string) => ignored.excludes(path) };

  const flush = () => {
    clearTimeout(quietTimer);
    clearTimeout(capTimer);
    quietTimer = capTimer = undefined;
    if (pending.size === 0 || firstEventAt === undefined) return;
    const changes = [...pending].map(([path, kind]) => ({ path, kind }));
    const at = firstEventAt;
    pending.clear();
    firstEventAt = undefined;
    options.onBatch(changes, at);
  };

  /** A save that leaves the content as it was is not a change. */
  const contentChanged = async (path: string, removed: boolean): Promise<boolean> => {
    if (removed) return known.delete(path);
    const absolute = join(options.dir, path);
    const stat = await lstat(absolute).catch(() => undefined);
    if (!stat?.isFile()) return false;
    const digest = await hashes.hash(absolute, stat).catch(() => undefined);
    if (digest === undefined || known.get(path) === digest) return false;
    known.set(path, digest);
    return true;
  };

  const onEvent = (absolute: string, removed: boolean) => {
    const at = Date.now();
    const path = rel(absolute);
    const kind = classifyChange(path, rules);
    if (kind === "ignored") return;
    void contentChanged(path, removed).then(async (changed) => {
      if (!changed) return;
      if (path === ".dockerignore" || path.endsWith("/.dockerignore")) contextFilter = await loadContextFilter(options.contextDir);
      pending.set(path, kind);
      firstEventAt ??= at;
      clearTimeout(quietTimer);
      quietTimer = setTimeout(flush, options.debounceMs);
      capTimer ??= setTimeout(flush, maxWaitMs);
    }, options.onError);
  };

  const watcher: FSWatcher = watch(options.dir, {
    ignoreInitial: false,
    // Pruning ignored folders here means chokidar never descends into them.
    ignored: (absolute) => {
      const path = rel(absolute);
      return path !== "" && !path.startsWith("..") && ignored.excludes(path);
    },
  });
  let initialScan = true;
  const baseline: Promise<unknown>[] = [];
  watcher.on("add", (absolute) => {
    // The initial scan records each file's content as the baseline; it is not a change.
    if (initialScan) {
      baseline.push(contentChanged(rel(absolute), false).catch(() => undefined));
      return;
    }
    onEvent(absolute, false);
  });
  watcher.on("change", (absolute) => onEvent(absolute, false));
  watcher.on("unlink", (absolute) => onEvent(absolute, true));
  watcher.on("error", (error) => options.onError?.(error));

  const ready = (async () => {
    contextFilter = await loadContextFilter(options.contextDir);
    await new Promise<void>((resolve) => watcher.once("ready", () => resolve()));
    initialScan = false;
    await Promise.all(baseline);
  })();
  return {
    ready,
    close: async () => {
      clearTimeout(quietTimer);
      clearTimeout(capTimer);
      await watcher.close();
    },
  };
}
