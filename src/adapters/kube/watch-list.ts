import { ListWatch, Watch, type KubeConfig, type KubernetesObject } from "@kubernetes/client-node";
import { withBackoff } from "../../engine/backoff.js";
import type { KubeAccess } from "./client.js";

/**
 * A live copy of the objects a list call returns, kept by client-node's informer (`ListWatch`):
 * it lists, follows the watch from the list's resourceVersion, watches again from the last one it
 * saw when the server ends the stream, and lists again on 410 Gone. `onChange` fires after each
 * change (once per list), so callers react to events instead of polling.
 *
 * What the informer leaves to its caller, done here:
 * - it stops at the first failure (a refused list or watch, a dropped connection) and emits
 *   `error`: each is passed to `onError` with its HTTP status in `code` and how many failures came
 *   in a row, and the informer is started again with back-off (0.5 s, doubling, at most 10 s; a
 *   first failure again after 30 s of working), so a server that refuses the watch is not asked
 *   again at once, forever, and the caller decides what no retry will fix;
 * - it ignores an ERROR event other than 410 and watches again at once when the server ends that
 *   stream, without the error or any back-off; and it does not ask for bookmarks. ReportingWatch,
 *   the Watch it is given, fails such a watch with the event's Status code and asks for bookmarks;
 * - it does not close a watch that stop() raced with; ReportingWatch does.
 */
interface WatchedList<T extends KubernetesObject> {
  items(): T[];
  /** Resolves after the first list arrived. */
  ready: Promise<void>;
  stop(): void;
}

/** Why a watch failed: `code` is the HTTP status (from the response or the ERROR event's Status), when there is one. */
class WatchFailure extends Error {
  constructor(
    message: string,
    readonly code: number | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function watchList<T extends KubernetesObject>(
  kube: KubeAccess,
  path: string,
  query: { labelSelector?: string | undefined; fieldSelector?: string | undefined },
  /** The same list through the typed client (it carries the cluster's CA and credentials). */
  listOnce: () => Promise<{ items: T[]; metadata?: { resourceVersion?: string | undefined } | undefined }>,
  onChange: () => void,
  onError: (error: unknown, failuresInARow: number) => void = () => undefined,
): WatchedList<T> {
  const stopping = new AbortController();
  let listed!: () => void;
  const ready = new Promise<void>((resolve) => (listed = resolve));
  // From a list's answer to its watch, the informer puts the list in its cache one object at a
  // time, each an add, update or delete: said once, when the whole list is in.
  let listing = false;
  const watch = new ReportingWatch(kube.config, path, stopping.signal, () => {
    if (!listing) return;
    listing = false;
    listed();
    if (!stopping.signal.aborted) onChange();
  });
  // makeInformer is this with client-node's own Watch and no field selector.
  const informer = new ListWatch<T>(
    path,
    watch,
    async () => {
      const response = await listOnce();
      listing = true;
      return { metadata: { resourceVersion: response.metadata?.resourceVersion ?? "" }, items: response.items };
    },
    false,
    query.labelSelector,
    query.fieldSelector,
  );
  informer.on("change", () => {
    if (!listing && !stopping.signal.aborted) onChange();
  });

  // One attempt: the informer runs until its first error (or stop()).
  let failed: ((error: unknown) => void) | undefined;
  informer.on("error", (error) => failed?.(error));
  stopping.signal.addEventListener("abort", () => failed?.(stopping.signal.reason), { once: true });
  const attempt = () =>
    new Promise<never>((_, reject) => {
      failed = reject;
      listing = false;
      // Rejects when the watch could not even be asked for (no current cluster, credentials that fail).
      informer.start().catch(reject);
    });
  void withBackoff(attempt, {
    initialMs: 500,
    maxMs: 10_000,
    // Watches that kept working a while before this failure: it is a first failure again.
    resetAfterMs: 30_000,
    signal: stopping.signal,
    onRetry: (error, failuresInARow) => onError(error, failuresInARow),
  }).catch(() => undefined); // ends only when stopped

  return {
    items: () => [...informer.list()],
    ready,
    stop: () => {
      stopping.abort();
      void informer.stop();
    },
  };
}

/**
 * The informer's Watch, with what it lacks: bookmarks asked for (the server then sends a recent
 * resourceVersion now and then, so a watch started again after a quiet hour is not too old); an
 * ERROR event other than 410 ends the watch as a failure with the Status's code (the informer
 * alone drops it and watches again at once); a failure to ask, which would reject in the
 * informer's unawaited reconnect, goes to `done` instead; and a watch that answers after stop()
 * is closed at once, or its socket keeps the process alive.
 */
class ReportingWatch extends Watch {
  constructor(
    config: KubeConfig,
    private readonly path: string,
    private readonly stopped: AbortSignal,
    /** Called as each watch is asked for: after a list, the informer's cache holds all of it. */
    private readonly asking: () => void,
  ) {
    super(config);
  }

  override async watch(
    path: string,
    queryParams: Record<string, string | number | boolean | undefined>,
    callback: (phase: string, apiObj: unknown, watchObj?: unknown) => void,
    done: (err: unknown) => void,
  ): Promise<AbortController> {
    this.asking();
    if (this.stopped.aborted) return new AbortController();
    let ended = false;
    let controller: AbortController | undefined;
    const end = (error: unknown) => {
      if (ended) return;
      ended = true;
      controller?.abort();
      done(error);
    };
    try {
      controller = await super.watch(
        path,
        { ...queryParams, allowWatchBookmarks: true },
        (type, object: { code?: unknown; message?: unknown }, raw) => {
          if (ended) return;
          // 410 Gone (our resourceVersion is too old) is the informer's: it lists again when the stream ends.
          if (type === "ERROR" && object.code !== 410) {
            const code = typeof object.code === "number" ? object.code : undefined;
            const message = typeof object.message === "string" ? object.message : "an ERROR event";
            end(new WatchFailure(`watching ${this.path} failed: ${message}${code ? ` (HTTP ${code})` : ""}`, code));
            return;
          }
          callback(type, object, raw);
        },
        (error: unknown) => end(error ? describeWatchError(this.path, error) : null),
      );
    } catch (error) {
      end(describeWatchError(this.path, error));
      return new AbortController();
    }
    if (ended || this.stopped.aborted) controller.abort();
    return controller;
  }
}

/** The watch request's own failure: client-node puts the HTTP status in `statusCode` (Watch) or `code` (the typed client). */
function describeWatchError(path: string, error: unknown): WatchFailure {
  const { statusCode, code } = (error ?? {}) as { statusCode?: unknown; code?: unknown };
  const status = typeof statusCode === "number" ? statusCode : typeof code === "number" ? code : undefined;
  const message = error instanceof Error ? error.message : String(error);
  return new WatchFailure(`watching ${path} failed: ${message}${status ? ` (HTTP ${status})` : ""}`, status, { cause: error });
}
