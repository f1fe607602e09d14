/**
 * The control plane's etcd: every object of every resource, one global resourceVersion counter,
 * and a bounded history of changes so watches can resume from a resourceVersion. Objects in the
 * store are deep-frozen: anything that wants to change one clones it first, so a stray mutation
 * throws instead of silently changing what watchers already saw.
 */
import { gone } from "./status.js";
import type { KObject } from "./types.js";

export type WatchEventType = "ADDED" | "MODIFIED" | "DELETED";

export interface StoreEvent {
  type: WatchEventType;
  resource: string;
  rv: number;
  object: KObject;
  /** The previous state, for MODIFIED and DELETED. */
  old?: KObject;
}

export type StoreListener = (event: StoreEvent) => void;

function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value as Record<string, unknown>)) deepFreeze(child);
  }
  return value;
}

export function objectKey(namespace: string | undefined, name: string): string {
  return namespace ? `${namespace}/${name}` : name;
}

export class Store {
  private rv = 1;
  private readonly tables = new Map<string, Map<string, KObject>>();
  private readonly history: StoreEvent[] = [];
  /** Highest resourceVersion whose event was dropped from history; older watches get 410 Gone. */
  private compactedThrough = 0;
  private readonly listeners = new Set<StoreListener>();

  constructor(private readonly historyLimit = 10_000) {}

  get resourceVersion(): string {
    return String(this.rv);
  }

  private table(resource: string): Map<string, KObject> {
    let t = this.tables.get(resource);
    if (!t) {
      t = new Map();
      this.tables.set(resource, t);
    }
    return t;
  }

  get(resource: string, namespace: string | undefined, name: string): KObject | undefined {
    return this.tables.get(resource)?.get(objectKey(namespace, name));
  }

  /** Objects of one resource (optionally one namespace), ordered by namespace/name like etcd keys. */
  list(resource: string, namespace?: string): KObject[] {
    const t = this.tables.get(resource);
    if (!t) return [];
    const items = [...t.entries()]
      .filter(([, o]) => namespace === undefined || o.metadata.namespace === namespace)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return items.map(([, o]) => o);
  }

  create(resource: string, object: KObject): KObject {
    const key = objectKey(object.metadata.namespace, object.metadata.name ?? "");
    object.metadata.resourceVersion = String(++this.rv);
    const stored = deepFreeze(object);
    this.table(resource).set(key, stored);
    this.emit({ type: "ADDED", resource, rv: this.rv, object: stored });
    return stored;
  }

  update(resource: string, object: KObject): KObject {
    const key = objectKey(object.metadata.namespace, object.metadata.name ?? "");
    const old = this.table(resource).get(key);
    object.metadata.resourceVersion = String(++this.rv);
    const stored = deepFreeze(object);
    this.table(resource).set(key, stored);
    this.emit({ type: "MODIFIED", resource, rv: this.rv, object: stored, ...(old ? { old } : {}) });
    return stored;
  }

  /** Removes the object; the DELETED event carries its last state at a new resourceVersion. */
  delete(resource: string, namespace: string | undefined, name: string): KObject | undefined {
    const key = objectKey(namespace, name);
    const old = this.table(resource).get(key);
    if (!old) return undefined;
    this.table(resource).delete(key);
    const last = structuredClone(old) as KObject;
    last.metadata.resourceVersion = String(++this.rv);
    const stored = deepFreeze(last);
    this.emit({ type: "DELETED", resource, rv: this.rv, object: stored, old });
    return stored;
  }

  subscribe(listener: StoreListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Events after `rv` for a resource, then live ones, with no gap between the two: the replay and
   * the subscription happen in one synchronous step. Throws 410 Gone when history no longer
   * reaches back to `rv`.
   */
  watchFrom(rv: number, resource: string, listener: StoreListener): () => void {
    if (rv < this.compactedThrough) {
      throw gone(`too old resource version: ${rv} (${this.compactedThrough + 1})`);
    }
    for (const event of this.history) {
      if (event.rv > rv && event.resource === resource) listener(event);
    }
    return this.subscribe((event) => {
      if (event.resource === resource) listener(event);
    });
  }

  private emit(event: StoreEvent): void {
    this.history.push(event);
    while (this.history.length > this.historyLimit) {
      const dropped = this.history.shift();
      if (dropped) this.compactedThrough = dropped.rv;
    }
    for (const listener of [...this.listeners]) {
      try {
        listener(event);
      } catch (err) {
        // A broken listener (a closed watch socket) must not stop the write or other listeners.
        console.error("[sim-apiserver] store listener failed:", err);
      }
    }
  }
}
