/** Pod and pod-template defaulting and validation (k8s.io/kubernetes/pkg/apis/core/{v1/defaults,validation}). */
import { QUANTITY_FORMAT_MESSAGE, cpuMillis, memoryBytes, parseQuantity } from "../quantity.js";
import type { FieldError } from "../status.js";
import { isObject, type Container, type Pod, type PodSpec, type Probe } from "../types.js";
import { duplicate, forbidden, invalidValue, labelErrors, nameErrors, notSupported, required } from "./meta.js";

/** `:latest` or no tag means Always, anything else IfNotPresent (Kubernetes docs, "Images": imagePullPolicy defaulting; kind#328). */
export function defaultPullPolicy(image: string): "Always" | "IfNotPresent" {
  if (image.includes("@")) return "IfNotPresent";
  const lastSegment = image.slice(image.lastIndexOf("/") + 1);
  const colon = lastSegment.indexOf(":");
  if (colon < 0) return "Always";
  return lastSegment.slice(colon + 1) === "latest" ? "Always" : "IfNotPresent";
}

function defaultProbe(probe: Probe | undefined): void {
  if (!probe) return;
  probe.timeoutSeconds ??= 1;
  probe.periodSeconds ??= 10;
  probe.successThreshold ??= 1;
  probe.failureThreshold ??= 3;
  if (probe.httpGet) {
    probe.httpGet.path ??= "/";
    probe.httpGet.scheme ??= "HTTP";
  }
}

function defaultContainer(c: Container & Record<string, unknown>): void {
  if (c.image !== undefined) c.imagePullPolicy ??= defaultPullPolicy(c.image);
  c.terminationMessagePath ??= "/dev/termination-log";
  c.terminationMessagePolicy ??= "File";
  c.resources ??= {};
  // A limit with no request requests the limit (core/v1 defaults).
  const limits = c.resources.limits;
  if (limits) {
    for (const [name, value] of Object.entries(limits)) {
      c.resources.requests ??= {};
      c.resources.requests[name] ??= value;
    }
  }
  for (const port of c.ports ?? []) port.protocol ??= "TCP";
  defaultProbe(c.readinessProbe);
  defaultProbe(c.livenessProbe);
  defaultProbe(c.startupProbe);
}

/** Defaults applied to a PodSpec wherever it appears (pods and templates). */
export function defaultPodSpec(spec: PodSpec & Record<string, unknown>): void {
  spec.restartPolicy ??= "Always";
  spec.terminationGracePeriodSeconds ??= 30;
  spec.dnsPolicy ??= "ClusterFirst";
  spec.securityContext ??= {};
  spec.schedulerName ??= "default-scheduler";
  for (const c of spec.containers ?? []) defaultContainer(c as Container & Record<string, unknown>);
  for (const c of spec.initContainers ?? []) defaultContainer(c as Container & Record<string, unknown>);
}

/** Defaults only pods get, from defaulting plus the admission plugins every cluster runs. */
export function defaultPod(pod: Pod): void {
  if (!isObject(pod.spec)) return;
  const spec = pod.spec as PodSpec & Record<string, unknown>;
  defaultPodSpec(spec);
  spec.serviceAccountName ??= "default";
  spec.serviceAccount ??= spec.serviceAccountName;
  spec.enableServiceLinks ??= true;
  spec.priority ??= 0;
  spec.preemptionPolicy ??= "PreemptLowerPriority";
  spec.tolerations ??= [
    { key: "node.kubernetes.io/not-ready", operator: "Exists", effect: "NoExecute", tolerationSeconds: 300 },
    { key: "node.kubernetes.io/unreachable", operator: "Exists", effect: "NoExecute", tolerationSeconds: 300 },
  ];
  pod.status ??= {};
  pod.status.phase ??= "Pending";
  pod.status.qosClass = qosClass(spec);
}

/** The QoS class the apiserver stamps on a new pod. */
export function qosClass(spec: PodSpec): "Guaranteed" | "Burstable" | "BestEffort" {
  let anyRequest = false;
  let guaranteed = true;
  for (const c of spec.containers ?? []) {
    const limits = c.resources?.limits ?? {};
    const requests = c.resources?.requests ?? {};
    if (Object.keys(limits).length || Object.keys(requests).length) anyRequest = true;
    for (const r of ["cpu", "memory"]) {
      if (limits[r] === undefined) guaranteed = false;
      else if (requests[r] !== undefined && parseQuantity(requests[r]) !== parseQuantity(limits[r])) guaranteed = false;
    }
  }
  if (!anyRequest) return "BestEffort";
  return guaranteed ? "Guaranteed" : "Burstable";
}

function validatePort(field: string, port: unknown): FieldError[] {
  if (typeof port === "number") {
    return port >= 1 && port <= 65535 ? [] : [invalidValue(field, port, "must be between 1 and 65535, inclusive")];
  }
  if (typeof port === "string") {
    return /^[a-z0-9]([a-z0-9-]{0,13}[a-z0-9])?$/.test(port) && /[a-z]/.test(port)
      ? []
      : [invalidValue(field, port, "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")];
  }
  return [required(field)];
}

function validateProbe(field: string, probe: Probe | undefined, liveness: boolean): FieldError[] {
  if (!probe) return [];
  const errors: FieldError[] = [];
  const handlers = ["httpGet", "tcpSocket", "exec", "grpc"].filter((h) => (probe as Record<string, unknown>)[h] !== undefined);
  if (handlers.length === 0) errors.push(required(field, "must specify a handler type"));
  if (handlers.length > 1) errors.push(forbidden(`${field}.${handlers[1]}`, "may not specify more than 1 handler type"));
  if (probe.httpGet) errors.push(...validatePort(`${field}.httpGet.port`, probe.httpGet.port));
  if (probe.tcpSocket) errors.push(...validatePort(`${field}.tcpSocket.port`, probe.tcpSocket.port));
  for (const key of ["initialDelaySeconds", "timeoutSeconds", "periodSeconds", "successThreshold", "failureThreshold"] as const) {
    const value = probe[key];
    if (value !== undefined && (typeof value !== "number" || value < 0))
      errors.push(invalidValue(`${field}.${key}`, value, "must be greater than or equal to 0"));
  }
  if (liveness && probe.successThreshold !== undefined && probe.successThreshold !== 1)
    errors.push(invalidValue(`${field}.successThreshold`, probe.successThreshold, "must be 1"));
  return errors;
}

function validateContainer(field: string, c: Container): FieldError[] {
  const errors: FieldError[] = [];
  if (!c.name) errors.push(required(`${field}.name`));
  else errors.push(...nameErrors(`${field}.name`, c.name, "label"));
  if (!c.image || !String(c.image).trim()) errors.push(required(`${field}.image`));
  if (c.imagePullPolicy !== undefined && !["Always", "IfNotPresent", "Never"].includes(c.imagePullPolicy)) {
    errors.push(notSupported(`${field}.imagePullPolicy`, c.imagePullPolicy, ["Always", "IfNotPresent", "Never"]));
  }
  const portNames = new Set<string>();
  (c.ports ?? []).forEach((p, i) => {
    const pf = `${field}.ports[${i}]`;
    if (typeof p.containerPort !== "number" || p.containerPort < 1 || p.containerPort > 65535) {
      errors.push(invalidValue(`${pf}.containerPort`, p.containerPort, "must be between 1 and 65535, inclusive"));
    }
    if (p.protocol !== undefined && !["TCP", "UDP", "SCTP"].includes(p.protocol))
      errors.push(notSupported(`${pf}.protocol`, p.protocol, ["SCTP", "TCP", "UDP"]));
    if (p.name) {
      if (portNames.has(p.name)) errors.push(duplicate(`${pf}.name`, p.name));
      portNames.add(p.name);
    }
  });
  (c.env ?? []).forEach((e, i) => {
    if (!e.name) errors.push(required(`${field}.env[${i}].name`));
  });
  for (const kind of ["limits", "requests"] as const) {
    for (const [name, value] of Object.entries(c.resources?.[kind] ?? {})) {
      if (parseQuantity(value) === undefined) errors.push(invalidValue(`${field}.resources.${kind}[${name}]`, value, QUANTITY_FORMAT_MESSAGE));
    }
  }
  const limits = c.resources?.limits ?? {};
  const requests = c.resources?.requests ?? {};
  for (const name of ["memory", "cpu"]) {
    const limit = limits[name];
    const request = requests[name];
    if (limit === undefined || request === undefined) continue;
    const over = name === "memory" ? (memoryBytes(request) ?? 0) > (memoryBytes(limit) ?? 0) : (cpuMillis(request) ?? 0) > (cpuMillis(limit) ?? 0);
    if (over) errors.push(invalidValue(`${field}.resources.requests`, request, `must be less than or equal to ${name} limit of ${limit}`));
  }
  errors.push(...validateProbe(`${field}.readinessProbe`, c.readinessProbe, false));
  errors.push(...validateProbe(`${field}.livenessProbe`, c.livenessProbe, true));
  errors.push(...validateProbe(`${field}.startupProbe`, c.startupProbe, true));
  return errors;
}

export function validatePodSpec(field: string, spec: PodSpec | undefined): FieldError[] {
  if (!isObject(spec)) return [required(field)];
  const errors: FieldError[] = [];
  if (!Array.isArray(spec.containers) || spec.containers.length === 0) errors.push(required(`${field}.containers`));
  const names = new Set<string>();
  (Array.isArray(spec.containers) ? spec.containers : []).forEach((c, i) => {
    errors.push(...validateContainer(`${field}.containers[${i}]`, c));
    if (c.name && names.has(c.name)) errors.push(duplicate(`${field}.containers[${i}].name`, c.name));
    names.add(c.name);
  });
  (spec.initContainers ?? []).forEach((c, i) => errors.push(...validateContainer(`${field}.initContainers[${i}]`, c)));
  if (spec.restartPolicy !== undefined && !["Always", "OnFailure", "Never"].includes(spec.restartPolicy)) {
    errors.push(notSupported(`${field}.restartPolicy`, spec.restartPolicy, ["Always", "Never", "OnFailure"]));
  }
  if (spec.terminationGracePeriodSeconds !== undefined && spec.terminationGracePeriodSeconds < 0) {
    errors.push(invalidValue(`${field}.terminationGracePeriodSeconds`, spec.terminationGracePeriodSeconds, "must be greater than or equal to 0"));
  }
  errors.push(...labelErrors(`${field}.nodeSelector`, spec.nodeSelector));
  return errors;
}

export function validatePod(pod: Pod, old: Pod | undefined): FieldError[] {
  const errors = validatePodSpec("spec", pod.spec);
  if (old && JSON.stringify(withoutImages(pod.spec)) !== JSON.stringify(withoutImages(old.spec))) {
    // Pods are immutable apart from a few fields; the simulator's kubelet does not restart on an
    // image change, so this stand-in forbids that too (see README).
    errors.push(
      forbidden(
        "spec",
        "pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)",
      ),
    );
  }
  if (old && pod.spec.containers?.some((c, i) => c.image !== old.spec.containers?.[i]?.image)) {
    errors.push(forbidden("spec.containers", "changing a running pod's image is not supported by the simulator"));
  }
  return errors;
}

function withoutImages(spec: PodSpec): unknown {
  const copy = structuredClone(spec) as PodSpec & { nodeName?: string };
  for (const c of copy.containers ?? []) delete c.image;
  // nodeName is written by binding, not by users.
  delete copy.nodeName;
  return copy;
}
