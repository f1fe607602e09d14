import { Watch, type KubernetesObject } from "@kubernetes/client-node";
import type { KubeAccess } from "./client.js";

/**
 * A live copy of the objects a list call returns: list once, then follow the watch from the
 * list's resourceVersion; on 410 Gone (or a dropped stream) list again. `onChange` fires after
 * each change, so callers react to events instead of polling.
 */
export interface WatchedList<T extends KubernetesObject> {
  items(): T[];
  /** Resolves after the first list arrived. */
  ready: Promise<void>;
  stop(): void;
}

export function watchList<T extends KubernetesObject>(
  kube: KubeAccess,
  path: string,
  query: { labelSelector?: string | undefined; fieldSelector?: string | undefined },
  /** The same list through the typed client (it carries the cluster's CA and credentials). */
  listOnce: () => Promise<{ items: T[]; metadata?: { resourceVersion?: string | undefined } | undefined }>,
  onChange: () => void,
  onError: (error: unknown) => void = () => undefined,
): WatchedList<T> {
  const objects = new Map<string, T>();
  let stopped = false;
  let abort: AbortController | undefined;
  const key = (object: T) => `${object.metadata?.namespace ?? ""}/${object.metadata?.name ?? ""}`;

  const list = async (): Promise<string> => {
    const response = await listOnce();
    objects.clear();
    for (const item of response.items) objects.set(key(item), item);
    onChange();
    return response.metadata?.resourceVersion ?? "";
  };

  const follow = async (resourceVersion: string): Promise<void> => {
    if (stopped) return;
    abort = await new Watch(kube.config).watch(
      path,
      { ...query, resourceVersion, allowWatchBookmarks: true },
      (type, object: T & { code?: number }) => {
        if (type === "ERROR") {
          // 410 Gone: our resourceVersion is too old; start over from a fresh list.
          abort?.abort();
          return;
        }
        if (type === "BOOKMARK") return;
        if (type === "DELETED") objects.delete(key(object));
        else objects.set(key(object), object);
        resourceVersion = object.metadata?.resourceVersion ?? resourceVersion;
        onChange();
      },
      () => {
        if (!stopped) restart();
      },
    );
    // stop() may have run while the watch was being established: close it now, or its socket
    // keeps the process alive.
    if (stopped) abort.abort();
  };

  const restart = () => {
    list()
      .then(follow)
      .catch((error: unknown) => {
        onError(error);
        if (!stopped) setTimeout(restart, 1_000);
      });
  };

  const ready = list().then(follow);
  ready.catch((error: unknown) => {
    onError(error);
    if (!stopped) setTimeout(restart, 1_000); // a first list that failed is retried like any other
  });
  return {
    items: () => [...objects.values()],
    ready,
    stop: () => {
      stopped = true;
      abort?.abort();
    },
  };
}
