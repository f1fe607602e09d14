/** Discovery documents (/api, /apis, /api/v1, /apis/apps/v1, /version), generated from the resource table. */
import { RESOURCES, VERBS, type ResourceDef } from "./resources.js";

/** The Kubernetes release the stand-in reports (kind v0.29's default node image). */
export const KUBE_VERSION = { major: "1", minor: "33", gitVersion: "v1.33.1" };

export function versionInfo(): Record<string, string> {
  return {
    ...KUBE_VERSION,
    gitCommit: "8adc0f041b8e7ad1d30e29cc59c6ae7a15e19828",
    gitTreeState: "clean",
    buildDate: "2025-05-15T08:19:08Z",
    goVersion: "go1.24.2",
    compiler: "gc",
    platform: `linux/${process.arch === "arm64" ? "arm64" : "amd64"}`,
  };
}

export function apiVersions(): Record<string, unknown> {
  return { kind: "APIVersions", versions: ["v1"], serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress: "127.0.0.1:6443" }] };
}

function groups(): string[] {
  return [...new Set(RESOURCES.map((r) => r.group).filter((g) => g !== ""))];
}

function groupDoc(name: string): Record<string, unknown> {
  const gv = { groupVersion: `${name}/v1`, version: "v1" };
  return { name, versions: [gv], preferredVersion: gv };
}

export function apiGroupList(): Record<string, unknown> {
  return { kind: "APIGroupList", apiVersion: "v1", groups: groups().map(groupDoc) };
}

export function apiGroup(name: string): Record<string, unknown> | undefined {
  if (!groups().includes(name)) return undefined;
  return { kind: "APIGroup", apiVersion: "v1", ...groupDoc(name) };
}

function subresources(r: ResourceDef): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  if (r.statusSubresource)
    out.push({ name: `${r.plural}/status`, singularName: "", namespaced: r.namespaced, kind: r.kind, verbs: ["get", "patch", "update"] });
  if (r.kind === "Pod") {
    out.push({ name: "pods/exec", singularName: "", namespaced: true, kind: "PodExecOptions", verbs: ["create", "get"] });
    out.push({ name: "pods/log", singularName: "", namespaced: true, kind: "Pod", verbs: ["get"] });
    out.push({ name: "pods/portforward", singularName: "", namespaced: true, kind: "PodPortForwardOptions", verbs: ["create", "get"] });
  }
  if (r.kind === "Deployment" || r.kind === "ReplicaSet")
    out.push({
      name: `${r.plural}/scale`,
      singularName: "",
      namespaced: true,
      group: "autoscaling",
      version: "v1",
      kind: "Scale",
      verbs: ["get", "patch", "update"],
    });
  return out;
}

export function apiResourceList(group: string, version: string): Record<string, unknown> | undefined {
  const resources = RESOURCES.filter((r) => r.group === group && r.version === version);
  if (!resources.length) return undefined;
  const list = resources.flatMap((r) => {
    const main: Record<string, unknown> = { name: r.plural, singularName: r.singular, namespaced: r.namespaced, kind: r.kind, verbs: VERBS };
    if (r.shortNames.length) main.shortNames = r.shortNames;
    if (r.categories.length) main.categories = r.categories;
    return [main, ...subresources(r)];
  });
  const doc: Record<string, unknown> = { kind: "APIResourceList", groupVersion: group ? `${group}/${version}` : version, resources: list };
  if (group) doc.apiVersion = "v1";
  return doc;
}
