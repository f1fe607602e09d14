/**
 * Watch streams: newline-delimited JSON `{type, object}` events over a chunked 200 response, one
 * write (and so one chunk) per event. Semantics follow the apiserver's watch cache:
 * - no resourceVersion or "0": synthetic ADDED events for the current state, then live events;
 * - a resourceVersion: every change after it, replayed from history, then live events;
 * - a resourceVersion older than the retained history: an ERROR event carrying a 410 Expired
 *   Status, then the stream ends (clients relist);
 * - selectors are applied to both the old and the new state, so an object that stops matching is
 *   seen as DELETED and one that starts matching as ADDED;
 * - BOOKMARK events when allowWatchBookmarks is set, and the initial-events-end bookmark for
 *   sendInitialEvents=true;
 * - the stream ends after timeoutSeconds.
 */
import type { ServerResponse } from "node:http";
import { matchesSelectors, validateSelectors, type ListOptions } from "./registry.js";
import { apiVersionOf, storeKey, type ResourceDef } from "./resources.js";
import { ApiError } from "./status.js";
import type { Store, StoreEvent } from "./store.js";
import type { KObject } from "./types.js";

export interface WatchParams extends ListOptions {
  namespace?: string;
  resourceVersion?: string;
  allowWatchBookmarks: boolean;
  sendInitialEvents: boolean;
  timeoutSeconds?: number;
  /** Renders each object for the wire (server-side printing for `kubectl get -w`). */
  render?: (object: KObject) => unknown;
}

export interface WatchTiming {
  /** How often BOOKMARK events are sent (the real apiserver: about once a minute). */
  bookmarkIntervalMs: number;
  /** Default stream lifetime when the client gives no timeoutSeconds (real: 30-60 minutes). */
  defaultTimeoutSeconds: number;
}

type EventType = "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";

export class WatchHub {
  private readonly open = new Set<() => void>();

  constructor(
    private readonly store: Store,
    private readonly timing: WatchTiming,
  ) {}

  serve(res: ServerResponse, r: ResourceDef, params: WatchParams): void {
    validateSelectors(r, params);
    const rvParam = params.resourceVersion;
    if (rvParam !== undefined && rvParam !== "" && !/^\d+$/.test(rvParam)) {
      throw new ApiError(400, "BadRequest", `resourceVersion: Invalid value: "${rvParam}": must be a non-negative integer`);
    }
    res.writeHead(200, { "Content-Type": "application/json", "Cache-Control": "no-cache, private", "Transfer-Encoding": "chunked" });
    res.socket?.setNoDelay(true);
    res.flushHeaders();

    const send = (type: EventType, object: unknown): void => {
      if (!res.writableEnded) res.write(`${JSON.stringify({ type, object })}\n`);
    };
    const inScope = (o: KObject): boolean => (!params.namespace || o.metadata.namespace === params.namespace) && matchesSelectors(r, o, params);
    const withKind = (o: KObject): unknown => {
      const typed: KObject = { ...o, apiVersion: apiVersionOf(r), kind: r.kind };
      return params.render ? params.render(typed) : typed;
    };

    const onEvent = (event: StoreEvent): void => {
      const nowIn = inScope(event.object);
      const wasIn = event.old ? inScope(event.old) : false;
      if (event.type === "ADDED") {
        if (nowIn) send("ADDED", withKind(event.object));
      } else if (event.type === "DELETED") {
        if (wasIn || nowIn) send("DELETED", withKind(event.object));
      } else if (nowIn && wasIn) send("MODIFIED", withKind(event.object));
      else if (nowIn) send("ADDED", withKind(event.object));
      else if (wasIn) send("DELETED", withKind(event.object));
    };

    let unsubscribe: () => void = () => undefined;
    const fromNow = rvParam === undefined || rvParam === "" || rvParam === "0";
    try {
      if (fromNow || params.sendInitialEvents) {
        // Listing and subscribing happen in one synchronous step: nothing can slip between them.
        const current = this.store.resourceVersion;
        for (const o of this.store.list(storeKey(r), r.namespaced ? params.namespace : undefined)) if (inScope(o)) send("ADDED", withKind(o));
        if (params.sendInitialEvents)
          send("BOOKMARK", {
            kind: r.kind,
            apiVersion: apiVersionOf(r),
            metadata: { resourceVersion: current, annotations: { "k8s.io/initial-events-end": "true" } },
          });
        unsubscribe = this.store.watchFrom(Number(current), storeKey(r), onEvent);
      } else {
        unsubscribe = this.store.watchFrom(Number(rvParam), storeKey(r), onEvent);
      }
    } catch (err) {
      if (err instanceof ApiError) {
        send("ERROR", err.toStatus());
        res.end();
        return;
      }
      throw err;
    }

    const bookmarks = params.allowWatchBookmarks
      ? setInterval(
          () => send("BOOKMARK", { kind: r.kind, apiVersion: apiVersionOf(r), metadata: { resourceVersion: this.store.resourceVersion } }),
          this.timing.bookmarkIntervalMs,
        )
      : undefined;
    const timeout = setTimeout(() => finish(), (params.timeoutSeconds ?? this.timing.defaultTimeoutSeconds) * 1000);
    const finish = (): void => {
      unsubscribe();
      if (bookmarks) clearInterval(bookmarks);
      clearTimeout(timeout);
      this.open.delete(finish);
      if (!res.writableEnded) res.end();
    };
    this.open.add(finish);
    res.on("close", finish);
  }

  /** Ends every open watch (on shutdown). */
  closeAll(): void {
    for (const finish of [...this.open]) finish();
  }
}
