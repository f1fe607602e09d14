/**
 * v1 Service defaulting, validation and the allocators the apiserver runs inline on create and
 * update: a ClusterIP from the service CIDR and nodePorts from 30000-32767. Allocation is checked
 * against every other Service in the store, in the same synchronous step as the write, so two
 * Services can never end up with one port.
 */
import type { FieldError } from "../status.js";
import { isObject, type Service, type ServicePort } from "../types.js";
import { duplicate, forbidden, invalidValue, labelErrors, notSupported, required } from "./meta.js";

export const NODE_PORT_MIN = 30000;
export const NODE_PORT_MAX = 32767;
/** kind's default service subnet; 10.96.0.1 is the `kubernetes` Service, .10 is kept for DNS. */
export const SERVICE_CIDR = "10.96.0.0/16";
export const KUBERNETES_SERVICE_IP = "10.96.0.1";

const TYPES = ["ClusterIP", "NodePort", "LoadBalancer", "ExternalName"];

export function defaultService(svc: Service): void {
  if (!isObject(svc.spec)) return;
  const spec = svc.spec as Service["spec"] & Record<string, unknown>;
  spec.type ??= "ClusterIP";
  spec.sessionAffinity ??= "None";
  if (spec.type !== "ExternalName") {
    spec.internalTrafficPolicy ??= "Cluster";
    spec.ipFamilies ??= ["IPv4"];
    spec.ipFamilyPolicy ??= "SingleStack";
  }
  if (spec.type === "NodePort" || spec.type === "LoadBalancer") spec.externalTrafficPolicy ??= "Cluster";
  for (const port of spec.ports ?? []) {
    port.protocol ??= "TCP";
    port.targetPort ??= port.port;
  }
  svc.status ??= { loadBalancer: {} };
}

export function needsNodePorts(svc: Service): boolean {
  return svc.spec?.type === "NodePort" || svc.spec?.type === "LoadBalancer";
}

export function validateService(svc: Service): FieldError[] {
  if (!isObject(svc.spec)) return [required("spec")];
  const spec = svc.spec;
  const errors: FieldError[] = [];
  if (spec.type !== undefined && !TYPES.includes(spec.type))
    errors.push(notSupported("spec.type", spec.type, ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"]));
  const ports = Array.isArray(spec.ports) ? spec.ports : [];
  const headless = spec.clusterIP === "None";
  if (ports.length === 0 && spec.type !== "ExternalName" && !headless) errors.push(required("spec.ports"));
  const names = new Set<string>();
  ports.forEach((p, i) => {
    const f = `spec.ports[${i}]`;
    if (ports.length > 1 && !p.name) errors.push(required(`${f}.name`));
    if (p.name) {
      if (names.has(p.name)) errors.push(duplicate(`${f}.name`, p.name));
      names.add(p.name);
    }
    if (typeof p.port !== "number" || p.port < 1 || p.port > 65535) errors.push(invalidValue(`${f}.port`, p.port, "must be between 1 and 65535, inclusive"));
    if (p.protocol !== undefined && !["TCP", "UDP", "SCTP"].includes(p.protocol))
      errors.push(notSupported(`${f}.protocol`, p.protocol, ["SCTP", "TCP", "UDP"]));
    if (typeof p.targetPort === "number" && (p.targetPort < 1 || p.targetPort > 65535))
      errors.push(invalidValue(`${f}.targetPort`, p.targetPort, "must be between 1 and 65535, inclusive"));
    if (p.nodePort !== undefined && p.nodePort !== 0 && !needsNodePorts(svc)) {
      errors.push(forbidden(`${f}.nodePort`, `may not be used when \`type\` is '${spec.type ?? "ClusterIP"}'`));
    }
  });
  errors.push(...labelErrors("spec.selector", spec.selector));
  return errors;
}

function portKey(p: ServicePort): string {
  return `${p.protocol ?? "TCP"}/${p.nodePort}`;
}

function ipToNumber(ip: string): number | undefined {
  const parts = ip.split(".").map(Number);
  if (parts.length !== 4 || parts.some((n) => !Number.isInteger(n) || n < 0 || n > 255)) return undefined;
  return (((parts[0] ?? 0) << 24) >>> 0) + ((parts[1] ?? 0) << 16) + ((parts[2] ?? 0) << 8) + (parts[3] ?? 0);
}

const CIDR_BASE = ipToNumber("10.96.0.0") ?? 0;
const CIDR_SIZE = 1 << 16;

/**
 * Carries over what an update left out (ClusterIP, nodePorts: an apply that never named a nodePort
 * keeps the allocated one, as the real registry's patchAllocatedValues does), then allocates what
 * is still missing. Returns field errors for pinned values that are out of range or taken.
 */
export function allocateService(svc: Service, old: Service | undefined, others: Service[]): FieldError[] {
  const spec = svc.spec;
  const errors: FieldError[] = [];
  // --- ClusterIP
  if (spec.type === "ExternalName") {
    delete spec.clusterIP;
    delete spec.clusterIPs;
  } else {
    const oldIP = old?.spec.clusterIP;
    if (oldIP && !spec.clusterIP) spec.clusterIP = oldIP;
    if (oldIP && spec.clusterIP !== oldIP) {
      errors.push(invalidValue("spec.clusterIPs[0]", spec.clusterIPs ?? [spec.clusterIP], "may not change once set"));
    } else if (!oldIP) {
      const used = new Set(others.map((o) => o.spec.clusterIP).filter((ip): ip is string => Boolean(ip)));
      if (spec.clusterIP && spec.clusterIP !== "None") {
        const n = ipToNumber(spec.clusterIP);
        if (n === undefined || n < CIDR_BASE || n >= CIDR_BASE + CIDR_SIZE) {
          errors.push(
            invalidValue(
              "spec.clusterIPs[0]",
              [spec.clusterIP],
              `failed to allocate IP ${spec.clusterIP}: the provided IP (${spec.clusterIP}) is not in the valid range. The range of valid IPs is ${SERVICE_CIDR}`,
            ),
          );
        } else if (used.has(spec.clusterIP)) {
          errors.push(invalidValue("spec.clusterIPs[0]", [spec.clusterIP], `failed to allocate IP ${spec.clusterIP}: provided IP is already allocated`));
        }
      } else if (!spec.clusterIP) {
        spec.clusterIP = randomClusterIP(used);
      }
    }
    spec.clusterIPs = spec.clusterIP ? [spec.clusterIP] : [];
  }

  // --- nodePorts
  const ports = spec.ports ?? [];
  if (!needsNodePorts(svc)) {
    // Switching away from NodePort drops the ports that were allocated before.
    for (const p of ports) {
      const previous = old?.spec.ports?.find((o) => o.port === p.port && (o.protocol ?? "TCP") === (p.protocol ?? "TCP"));
      if (p.nodePort && previous?.nodePort === p.nodePort) delete p.nodePort;
    }
    return errors;
  }
  if (old && needsNodePorts(old)) {
    for (const p of ports) {
      if (p.nodePort) continue;
      const previous =
        old.spec.ports?.find((o) => o.port === p.port && (o.protocol ?? "TCP") === (p.protocol ?? "TCP")) ??
        (p.name ? old.spec.ports?.find((o) => o.name === p.name) : undefined);
      if (previous?.nodePort) p.nodePort = previous.nodePort;
    }
  }
  const taken = new Set<string>();
  for (const o of others) if (needsNodePorts(o)) for (const p of o.spec.ports ?? []) if (p.nodePort) taken.add(portKey(p));
  const mine = new Set<string>();
  ports.forEach((p, i) => {
    if (!p.nodePort) return;
    const field = `spec.ports[${i}].nodePort`;
    if (p.nodePort < NODE_PORT_MIN || p.nodePort > NODE_PORT_MAX) {
      errors.push(invalidValue(field, p.nodePort, `provided port is not in the valid range. The range of valid ports is ${NODE_PORT_MIN}-${NODE_PORT_MAX}`));
    } else if (mine.has(portKey(p))) {
      errors.push(duplicate(field, p.nodePort));
    } else if (taken.has(portKey(p))) {
      // As kube-apiserver: portallocator.Allocate returns ErrAllocated ("provided port is already
      // allocated", pkg/registry/core/service/portallocator/allocator.go), which the Service REST
      // storage reports as field.Invalid(spec.ports[i].nodePort, port, err.Error()) (pkg/registry/core/service/storage/alloc.go).
      errors.push(invalidValue(field, p.nodePort, "provided port is already allocated"));
    }
    mine.add(portKey(p));
  });
  if (errors.length) return errors;
  for (const p of ports) {
    if (p.nodePort) continue;
    p.nodePort = randomNodePort((n) => taken.has(`${p.protocol ?? "TCP"}/${n}`) || mine.has(`${p.protocol ?? "TCP"}/${n}`));
    mine.add(portKey(p));
  }
  return errors;
}

function randomClusterIP(used: Set<string>): string {
  for (;;) {
    // Skip .0, the kubernetes Service (.1) and the DNS address (.10), as the real allocator reserves them.
    const offset = 11 + Math.floor(Math.random() * (CIDR_SIZE - 12));
    const n = CIDR_BASE + offset;
    const ip = [n >>> 24, (n >> 16) & 255, (n >> 8) & 255, n & 255].join(".");
    if (!used.has(ip)) return ip;
  }
}

/**
 * KEP-3668: dynamic allocation prefers the upper band of the range so the lower band stays free
 * for Services that pin a port (what mlkube does for kind's extraPortMappings).
 */
function randomNodePort(isTaken: (port: number) => boolean): number {
  const size = NODE_PORT_MAX - NODE_PORT_MIN + 1;
  const staticBand = Math.min(Math.max(16, Math.ceil(size / 16)), 128);
  for (let attempt = 0; attempt < 1000; attempt++) {
    const port = NODE_PORT_MIN + staticBand + Math.floor(Math.random() * (size - staticBand));
    if (!isTaken(port)) return port;
  }
  for (let port = NODE_PORT_MIN; port <= NODE_PORT_MAX; port++) if (!isTaken(port)) return port;
  throw new Error("range is full");
}
