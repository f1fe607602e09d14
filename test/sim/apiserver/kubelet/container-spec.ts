/**
 * What the kubelet hands the node runtime for one container attempt: the container's settings
 * resolved against the pod and the API (env from fieldRef, ConfigMaps and Secrets; limits as
 * numbers; the effective securityContext).
 */
import type { ContainerSpec } from "../../contract.js";
import { cpuMillis, memoryBytes } from "../quantity.js";
import type { Registry } from "../registry.js";
import { R } from "../resources.js";
import { KUBERNETES_SERVICE_IP } from "../kinds/service.js";
import { isObject, type Container, type Pod } from "../types.js";

/** Container ids follow dockershim's naming: k8s_CONTAINER_POD_NAMESPACE_UID_ATTEMPT. */
export function containerRuntimeId(pod: Pod, containerName: string, attempt: number): string {
  return `k8s_${containerName}_${pod.metadata.name}_${pod.metadata.namespace}_${pod.metadata.uid}_${attempt}`;
}

/** A container that cannot be configured (missing ConfigMap key...): CreateContainerConfigError. */
export class ContainerConfigError extends Error {}

function fieldRefValue(pod: Pod, fieldPath: string): string {
  switch (fieldPath) {
    case "metadata.name":
      return pod.metadata.name ?? "";
    case "metadata.namespace":
      return pod.metadata.namespace ?? "";
    case "metadata.uid":
      return pod.metadata.uid ?? "";
    case "spec.nodeName":
      return pod.spec.nodeName ?? "";
    case "spec.serviceAccountName":
      return String((pod.spec as { serviceAccountName?: string }).serviceAccountName ?? "");
    case "status.hostIP":
      return pod.status?.hostIP ?? "";
    case "status.podIP":
      return pod.status?.podIP ?? "";
  }
  const label = /^metadata\.labels\['(.+)'\]$/.exec(fieldPath);
  if (label) return pod.metadata.labels?.[label[1] ?? ""] ?? "";
  const annotation = /^metadata\.annotations\['(.+)'\]$/.exec(fieldPath);
  if (annotation) return pod.metadata.annotations?.[annotation[1] ?? ""] ?? "";
  return "";
}

function lookup(
  registry: Registry,
  pod: Pod,
  kind: "configmap" | "secret",
  name: string,
  key: string | undefined,
  optional: boolean,
): string | Record<string, string> | undefined {
  const obj = registry.tryGet(kind === "configmap" ? R.configmaps : R.secrets, pod.metadata.namespace, name);
  if (!obj) {
    if (optional) return undefined;
    throw new ContainerConfigError(`${kind} "${name}" not found`);
  }
  const data: Record<string, string> = {};
  if (isObject(obj.data)) {
    for (const [k, v] of Object.entries(obj.data)) data[k] = kind === "secret" ? Buffer.from(String(v), "base64").toString("utf8") : String(v);
  }
  if (key === undefined) return data;
  if (!(key in data)) {
    if (optional) return undefined;
    throw new ContainerConfigError(`couldn't find key ${key} in ${kind === "configmap" ? "ConfigMap" : "Secret"} ${pod.metadata.namespace}/${name}`);
  }
  return data[key];
}

export function resolveEnv(registry: Registry, pod: Pod, c: Container): { name: string; value: string }[] {
  const env = new Map<string, string>();
  // enableServiceLinks: at least the kubernetes Service, which in-cluster clients look for.
  env.set("KUBERNETES_SERVICE_HOST", KUBERNETES_SERVICE_IP);
  env.set("KUBERNETES_SERVICE_PORT", "443");
  env.set("KUBERNETES_PORT", `tcp://${KUBERNETES_SERVICE_IP}:443`);
  for (const from of c.envFrom ?? []) {
    const ref = from.configMapRef ?? from.secretRef;
    if (!ref) continue;
    const data = lookup(registry, pod, from.configMapRef ? "configmap" : "secret", ref.name, undefined, ref.optional ?? false);
    if (isObject(data)) for (const [k, v] of Object.entries(data)) env.set(`${from.prefix ?? ""}${k}`, String(v));
  }
  for (const e of c.env ?? []) {
    if (e.value !== undefined) {
      env.set(e.name, e.value);
      continue;
    }
    const from = e.valueFrom as
      | {
          fieldRef?: { fieldPath: string };
          configMapKeyRef?: { name: string; key: string; optional?: boolean };
          secretKeyRef?: { name: string; key: string; optional?: boolean };
        }
      | undefined;
    if (!from) {
      env.set(e.name, "");
      continue;
    }
    if (from.fieldRef) env.set(e.name, fieldRefValue(pod, from.fieldRef.fieldPath));
    else if (from.configMapKeyRef || from.secretKeyRef) {
      const ref = (from.configMapKeyRef ?? from.secretKeyRef) as { name: string; key: string; optional?: boolean };
      const value = lookup(registry, pod, from.configMapKeyRef ? "configmap" : "secret", ref.name, ref.key, ref.optional ?? false);
      if (typeof value === "string") env.set(e.name, value);
    } else env.set(e.name, "");
  }
  return [...env.entries()].map(([name, value]) => ({ name, value }));
}

export function buildContainerSpec(registry: Registry, pod: Pod, c: Container, attempt: number): ContainerSpec {
  const podSecurity = pod.spec.securityContext ?? {};
  return {
    id: containerRuntimeId(pod, c.name, attempt),
    podNamespace: pod.metadata.namespace ?? "",
    podName: pod.metadata.name ?? "",
    podUid: pod.metadata.uid ?? "",
    containerName: c.name,
    image: c.image ?? "",
    imagePullPolicy: c.imagePullPolicy ?? "IfNotPresent",
    command: c.command,
    args: c.args,
    env: resolveEnv(registry, pod, c),
    workingDir: c.workingDir,
    ports: (c.ports ?? []).map((p) => ({ containerPort: p.containerPort, protocol: p.protocol === "UDP" ? "UDP" : "TCP" })),
    memoryLimitBytes: memoryBytes(c.resources?.limits?.memory),
    cpuLimitMillis: cpuMillis(c.resources?.limits?.cpu),
    runAsUser: c.securityContext?.runAsUser ?? podSecurity.runAsUser,
    runAsNonRoot: c.securityContext?.runAsNonRoot ?? podSecurity.runAsNonRoot,
  };
}
