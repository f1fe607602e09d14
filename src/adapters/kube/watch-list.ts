import { Watch, type KubernetesObject } from "@kubernetes/client-node";
import { withBackoff } from "../../engine/backoff.js";
import type { KubeAccess } from "./client.js";

/**
 * A live copy of the objects a list call returns: list once, then follow the watch from the
 * list's resourceVersion; on 410 Gone or a watch the server ended, list again. `onChange` fires
 * after each change, so callers react to events instead of polling.
 *
 * A failed list or watch (a refused request, an ERROR event other than 410, a dropped connection)
 * is passed to `onError` with its HTTP status in `code` and how many failures came in a row, and
 * retried with the loop's back-off (0.5 s, doubling, at most 10 s): the caller decides what no
 * retry will fix, and a server that refuses the watch is not asked again at once, forever.
 */
interface WatchedList<T extends KubernetesObject> {
  items(): T[];
  /** Resolves after the first list arrived. */
  ready: Promise<void>;
  stop(): void;
}

/** Why a list or watch failed: `code` is the HTTP status (from the response or the ERROR event's Status), when there is one. */
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
  const objects = new Map<string, T>();
  const stopping = new AbortController();
  let abort: AbortController | undefined;
  let listed!: () => void;
  const ready = new Promise<void>((resolve) => (listed = resolve));
  const key = (object: T) => `${object.metadata?.namespace ?? ""}/${object.metadata?.name ?? ""}`;

  const list = async (): Promise<string> => {
    const response = await listOnce();
    objects.clear();
    for (const item of response.items) objects.set(key(item), item);
    onChange();
    listed();
    return response.metadata?.resourceVersion ?? "";
  };

  /** Follows the watch until it ends: resolves when a fresh list is due (410 Gone, the server closed it), rejects on a failure. */
  const follow = (start: string) =>
    new Promise<void>((resolve, reject) => {
      let resourceVersion = start;
      const ended = (error: unknown) => (error ? reject(describeWatchError(path, error)) : resolve());
      new Watch(kube.config)
        .watch(
          path,
          { ...query, resourceVersion, allowWatchBookmarks: true },
          (type, object: T & { code?: number; message?: string }) => {
            if (type === "ERROR") {
              // 410 Gone: our resourceVersion is too old; start over from a fresh list. Settled
              // before the abort, whose own error ("aborted") says nothing.
              if (object.code === 410) resolve();
              else
                reject(
                  new WatchFailure(`watching ${path} failed: ${object.message ?? "an ERROR event"}${object.code ? ` (HTTP ${object.code})` : ""}`, object.code),
                );
              abort?.abort();
              return;
            }
            if (type === "BOOKMARK") return;
            if (type === "DELETED") objects.delete(key(object));
            else objects.set(key(object), object);
            resourceVersion = object.metadata?.resourceVersion ?? resourceVersion;
            onChange();
          },
          ended,
        )
        .then((controller) => {
          abort = controller;
          // stop() may have run while the watch was being established: close it now, or its socket
          // keeps the process alive.
          if (stopping.signal.aborted) controller.abort();
        }, ended);
    });

  const run = async () => {
    while (!stopping.signal.aborted) await follow(await list());
  };
  void withBackoff(run, {
    initialMs: 500,
    maxMs: 10_000,
    // Watches that kept working a while before this failure: it is a first failure again.
    resetAfterMs: 30_000,
    signal: stopping.signal,
    onRetry: (error, failuresInARow) => onError(error, failuresInARow),
  }).catch(() => undefined); // ends only when stopped

  return {
    items: () => [...objects.values()],
    ready,
    stop: () => {
      stopping.abort();
      abort?.abort();
    },
  };
}

/** The watch request's own failure: client-node puts the HTTP status in `statusCode`. */
function describeWatchError(path: string, error: unknown): WatchFailure {
  const status = (error as { statusCode?: unknown }).statusCode;
  const code = typeof status === "number" ? status : undefined;
  const message = error instanceof Error ? error.message : String(error);
  return new WatchFailure(`watching ${path} failed: ${message}${code ? ` (HTTP ${code})` : ""}`, code, { cause: error });
}
