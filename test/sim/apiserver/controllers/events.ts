/**
 * core/v1 Events as the components record them (client-go's event recorder): named
 * `<object>.<hex nanoseconds>`, and aggregated, so a repeat of the same reason and message for the
 * same object bumps `count` and `lastTimestamp` instead of adding a new Event.
 */
import type { Registry } from "../registry.js";
import { R, resourceByApiVersionKind } from "../resources.js";
import { nowIso, type CoreEvent, type KObject } from "../types.js";

export class EventRecorder {
  private readonly known = new Map<string, string>();

  constructor(
    private readonly registry: Registry,
    private readonly component: string,
    private readonly host?: string,
    private readonly log: (line: string) => void = () => undefined,
  ) {}

  normal(obj: KObject, reason: string, message: string, fieldPath?: string): void {
    this.record(obj, "Normal", reason, message, fieldPath);
  }

  warning(obj: KObject, reason: string, message: string, fieldPath?: string): void {
    this.record(obj, "Warning", reason, message, fieldPath);
  }

  record(obj: KObject, type: "Normal" | "Warning", reason: string, message: string, fieldPath?: string): void {
    const r = resourceByApiVersionKind(obj.apiVersion, obj.kind);
    const namespace = r?.namespaced ? (obj.metadata.namespace ?? "default") : "default";
    const key = [obj.metadata.uid, fieldPath ?? "", type, reason, message].join("\u0000");
    const now = nowIso();
    try {
      const existingName = this.known.get(key);
      if (existingName) {
        const updated = this.registry.mutate(R.events, namespace, existingName, this.component, (e) => {
          const ev = e as CoreEvent;
          ev.count = (ev.count ?? 1) + 1;
          ev.lastTimestamp = now;
        });
        if (updated) return;
      }
      const involvedObject: CoreEvent["involvedObject"] = {
        kind: obj.kind,
        namespace: r?.namespaced ? obj.metadata.namespace : undefined,
        name: obj.metadata.name,
        uid: obj.metadata.uid,
        apiVersion: obj.apiVersion,
        resourceVersion: obj.metadata.resourceVersion,
      };
      if (fieldPath) involvedObject.fieldPath = fieldPath;
      if (!involvedObject.namespace) delete involvedObject.namespace;
      const name = `${obj.metadata.name ?? "unknown"}.${(BigInt(Date.now()) * 1_000_000n + BigInt(Math.floor(Math.random() * 1_000_000))).toString(16)}`;
      const event: CoreEvent = {
        apiVersion: "v1",
        kind: "Event",
        metadata: { name, namespace },
        involvedObject,
        reason,
        message,
        type,
        count: 1,
        firstTimestamp: now,
        lastTimestamp: now,
        source: this.host ? { component: this.component, host: this.host } : { component: this.component },
        reportingComponent: this.component,
        reportingInstance: this.host ?? "",
        eventTime: null,
      };
      this.registry.create(R.events, namespace, event, { manager: this.component });
      this.known.set(key, name);
    } catch (err) {
      // Events are best effort, as in client-go: a failed event never fails the caller.
      this.log(`event ${reason} for ${obj.metadata.name ?? "?"} not recorded: ${(err as Error).message}`);
    }
  }
}
