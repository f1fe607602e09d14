/**
 * Server-side apply in the simulator: a field the manager stops applying goes, and so do the maps
 * nobody owns anything in any more, defaulted fields and all. Found when `mlkube dev` switched
 * from its generated Deployment (with a liveness probe) to a user's manifest without one: the
 * simulator kept `httpGet: { scheme: HTTP }` and rejected the probe for its missing port.
 */
import { describe, expect, test } from "vitest";
import { applyConfiguration } from "./apply.js";
import type { KObject } from "./types.js";

function deployment(container: Record<string, unknown>): KObject {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "iris", namespace: "default" },
    spec: { template: { spec: { containers: [{ name: "model", image: "iris:1", ...container }] } } },
  } as KObject;
}

/** Defaults a probe's scheme, as the registry does: a field no manager owns. */
function withDefaults(merged: KObject): KObject {
  for (const c of container(merged) ? [container(merged)!] : []) {
    const probe = c.livenessProbe as { httpGet?: { scheme?: string } } | undefined;
    if (probe?.httpGet) probe.httpGet.scheme ??= "HTTP";
  }
  return merged;
}

function apply(live: KObject | undefined, applied: KObject, manager = "mlkube"): KObject {
  const result = applyConfiguration(live, applied, manager, false, withDefaults);
  return { ...result.object, metadata: { ...result.object.metadata, managedFields: result.managedFields } };
}

function container(object: KObject): Record<string, unknown> | undefined {
  return (object.spec as { template: { spec: { containers: Record<string, unknown>[] } } }).template.spec.containers[0];
}

describe("server-side apply removes what a manager stops applying", () => {
  test("a probe no longer applied disappears whole, with the fields defaulting gave it", () => {
    const first = apply(undefined, deployment({ livenessProbe: { httpGet: { path: "/", port: "http" }, periodSeconds: 10 } }));
    expect(container(first)?.livenessProbe).toEqual({ httpGet: { path: "/", port: "http", scheme: "HTTP" }, periodSeconds: 10 });
    const second = apply(first, deployment({}));
    expect(container(second)).toEqual({ name: "model", image: "iris:1" });
  });

  test("a map the manager still applies, even empty, stays", () => {
    const first = apply(undefined, deployment({ securityContext: { runAsNonRoot: true } }));
    const second = apply(first, deployment({ securityContext: {} }));
    expect(container(second)).toEqual({ name: "model", image: "iris:1", securityContext: {} });
  });

  test("a map another manager also has fields in stays, with that manager's fields", () => {
    const first = apply(undefined, deployment({ resources: { limits: { memory: "512Mi" } } }));
    const shared = apply(first, deployment({ resources: { requests: { cpu: "100m" } } }), "other");
    const second = apply(shared, deployment({}));
    expect(container(second)).toEqual({ name: "model", image: "iris:1", resources: { requests: { cpu: "100m" } } });
  });
});
