/**
 * Server-side printing (`Accept: application/json;as=Table;g=meta.k8s.io;v=v1`), which is what
 * `kubectl get` asks for: the same columns the real apiserver's printers produce for the kinds a
 * person looks at while using mlkube, so `kubectl get pods,deploy,svc` against the simulator reads
 * like it does against kind. Other kinds get NAME and AGE.
 */
import type { ResourceDef } from "./resources.js";
import type { ContainerStatus, CoreEvent, Deployment, KObject, NodeObject, Pod, ReplicaSet, Service } from "./types.js";

interface Column {
  name: string;
  type: string;
  format: string;
  priority: number;
  description: string;
}

const col = (name: string, priority = 0, format = "", type = "string"): Column => ({ name, type, format, priority, description: name });

/** duration.HumanDuration, as kubectl shows ages: 45s, 3m2s, 5h, 2d3h. */
export function humanDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return s % 60 === 0 ? `${m}m` : `${m}m${s % 60}s`;
  if (m < 180) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 8) return m % 60 === 0 ? `${h}h` : `${h}h${m % 60}m`;
  if (h < 48) return `${h}h`;
  const d = Math.floor(h / 24);
  if (d < 8) return h % 24 === 0 ? `${d}d` : `${d}d${h % 24}h`;
  return `${d}d`;
}

function age(o: KObject): string {
  const t = Date.parse(o.metadata.creationTimestamp ?? "");
  return Number.isFinite(t) ? humanDuration(Date.now() - t) : "<unknown>";
}

function podStatusReason(pod: Pod): string {
  let reason: string = pod.status?.reason ?? pod.status?.phase ?? "Unknown";
  let hasRunning = false;
  const statuses: ContainerStatus[] = pod.status?.containerStatuses ?? [];
  for (const s of [...statuses].reverse()) {
    if (s.state.waiting?.reason) reason = s.state.waiting.reason;
    else if (s.state.terminated?.reason) reason = s.state.terminated.reason;
    else if (s.state.terminated) reason = s.state.terminated.signal ? `Signal:${s.state.terminated.signal}` : `ExitCode:${s.state.terminated.exitCode}`;
    else if (s.ready && s.state.running) hasRunning = true;
  }
  if (reason === "Completed" && hasRunning) reason = "Running";
  if (pod.metadata.deletionTimestamp) reason = "Terminating";
  return reason;
}

function podRestarts(pod: Pod): string {
  const statuses = pod.status?.containerStatuses ?? [];
  const restarts = statuses.reduce((n, s) => n + s.restartCount, 0);
  const last = Math.max(0, ...statuses.map((s) => Date.parse(s.lastState.terminated?.finishedAt ?? "") || 0));
  return last ? `${restarts} (${humanDuration(Date.now() - last)} ago)` : String(restarts);
}

function images(template: { spec?: { containers?: { name: string; image?: string }[] } } | undefined): [string, string] {
  const cs = template?.spec?.containers ?? [];
  return [cs.map((c) => c.name).join(","), cs.map((c) => c.image ?? "").join(",")];
}

function selector(sel: { matchLabels?: Record<string, string> } | undefined): string {
  return Object.entries(sel?.matchLabels ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(",");
}

interface Printer {
  columns: Column[];
  cells(o: KObject): unknown[];
}

const PRINTERS: Record<string, Printer> = {
  Pod: {
    columns: [
      col("Name", 0, "name"),
      col("Ready"),
      col("Status"),
      col("Restarts", 0, "", "string"),
      col("Age"),
      col("IP", 1),
      col("Node", 1),
      col("Nominated Node", 1),
      col("Readiness Gates", 1),
    ],
    cells: (o) => {
      const p = o as Pod;
      const statuses = p.status?.containerStatuses ?? [];
      const total = p.spec.containers?.length ?? 0;
      return [
        p.metadata.name,
        `${statuses.filter((s) => s.ready).length}/${total}`,
        podStatusReason(p),
        podRestarts(p),
        age(p),
        p.status?.podIP ?? "<none>",
        p.spec.nodeName ?? "<none>",
        "<none>",
        "<none>",
      ];
    },
  },
  Deployment: {
    columns: [
      col("Name", 0, "name"),
      col("Ready"),
      col("Up-to-date", 0, "", "integer"),
      col("Available", 0, "", "integer"),
      col("Age"),
      col("Containers", 1),
      col("Images", 1),
      col("Selector", 1),
    ],
    cells: (o) => {
      const d = o as Deployment;
      const s = d.status ?? {};
      return [
        d.metadata.name,
        `${s.readyReplicas ?? 0}/${d.spec.replicas ?? 0}`,
        s.updatedReplicas ?? 0,
        s.availableReplicas ?? 0,
        age(d),
        ...images(d.spec.template),
        selector(d.spec.selector),
      ];
    },
  },
  ReplicaSet: {
    columns: [
      col("Name", 0, "name"),
      col("Desired", 0, "", "integer"),
      col("Current", 0, "", "integer"),
      col("Ready", 0, "", "integer"),
      col("Age"),
      col("Containers", 1),
      col("Images", 1),
      col("Selector", 1),
    ],
    cells: (o) => {
      const r = o as ReplicaSet;
      return [
        r.metadata.name,
        r.spec.replicas ?? 0,
        r.status?.replicas ?? 0,
        r.status?.readyReplicas ?? 0,
        age(r),
        ...images(r.spec.template),
        selector(r.spec.selector),
      ];
    },
  },
  Service: {
    columns: [col("Name", 0, "name"), col("Type"), col("Cluster-IP"), col("External-IP"), col("Port(s)"), col("Age"), col("Selector", 1)],
    cells: (o) => {
      const s = o as Service;
      const ports = (s.spec.ports ?? []).map((p) => `${p.port}${p.nodePort ? `:${p.nodePort}` : ""}/${p.protocol ?? "TCP"}`).join(",") || "<none>";
      const sel =
        Object.entries(s.spec.selector ?? {})
          .map(([k, v]) => `${k}=${v}`)
          .join(",") || "<none>";
      return [
        s.metadata.name,
        s.spec.type ?? "ClusterIP",
        s.spec.clusterIP ?? "<none>",
        s.spec.type === "LoadBalancer" ? "<pending>" : "<none>",
        ports,
        age(s),
        sel,
      ];
    },
  },
  Node: {
    columns: [
      col("Name", 0, "name"),
      col("Status"),
      col("Roles"),
      col("Age"),
      col("Version"),
      col("Internal-IP", 1),
      col("External-IP", 1),
      col("OS-Image", 1),
      col("Kernel-Version", 1),
      col("Container-Runtime", 1),
    ],
    cells: (o) => {
      const n = o as NodeObject & { status: { conditions?: { type: string; status: string }[]; nodeInfo?: Record<string, string> } };
      const ready = n.status.conditions?.find((c) => c.type === "Ready")?.status === "True" ? "Ready" : "NotReady";
      const roles =
        Object.keys(n.metadata.labels ?? {})
          .filter((k) => k.startsWith("node-role.kubernetes.io/"))
          .map((k) => k.slice("node-role.kubernetes.io/".length))
          .join(",") || "<none>";
      const info = n.status.nodeInfo ?? {};
      return [
        n.metadata.name,
        ready,
        roles,
        age(n),
        info.kubeletVersion ?? "",
        n.status.addresses.find((a) => a.type === "InternalIP")?.address ?? "<none>",
        "<none>",
        info.osImage ?? "",
        info.kernelVersion ?? "",
        info.containerRuntimeVersion ?? "",
      ];
    },
  },
  Namespace: {
    columns: [col("Name", 0, "name"), col("Status"), col("Age")],
    cells: (o) => [o.metadata.name, (o.status as { phase?: string } | undefined)?.phase ?? "", age(o)],
  },
  Event: {
    columns: [col("Last Seen"), col("Type"), col("Reason"), col("Object"), col("Message")],
    cells: (o) => {
      const e = o as CoreEvent;
      const last = Date.parse(e.lastTimestamp ?? "");
      return [
        Number.isFinite(last) ? humanDuration(Date.now() - last) : "<unknown>",
        e.type,
        e.reason,
        `${(e.involvedObject.kind ?? "").toLowerCase()}/${e.involvedObject.name ?? ""}`,
        e.message,
      ];
    },
  },
  ConfigMap: {
    columns: [col("Name", 0, "name"), col("Data", 0, "", "integer"), col("Age")],
    cells: (o) => [
      o.metadata.name,
      Object.keys((o.data as object | undefined) ?? {}).length + Object.keys((o.binaryData as object | undefined) ?? {}).length,
      age(o),
    ],
  },
  Secret: {
    columns: [col("Name", 0, "name"), col("Type"), col("Data", 0, "", "integer"), col("Age")],
    cells: (o) => [o.metadata.name, o.type ?? "Opaque", Object.keys((o.data as object | undefined) ?? {}).length, age(o)],
  },
  Endpoints: {
    columns: [col("Name", 0, "name"), col("Endpoints"), col("Age")],
    cells: (o) => {
      const subsets = (o.subsets as { addresses?: { ip: string }[]; ports?: { port: number }[] }[] | undefined) ?? [];
      const eps = subsets.flatMap((s) => (s.addresses ?? []).flatMap((a) => (s.ports ?? []).map((p) => `${a.ip}:${p.port}`)));
      return [o.metadata.name, eps.length ? eps.slice(0, 3).join(",") + (eps.length > 3 ? ` + ${eps.length - 3} more...` : "") : "<none>", age(o)];
    },
  },
};

const DEFAULT_PRINTER: Printer = { columns: [col("Name", 0, "name"), col("Age")], cells: (o) => [o.metadata.name, age(o)] };

export function wantsTable(accept: string | undefined): boolean {
  return /as=Table/.test(accept ?? "");
}

function rowObject(o: KObject, include: string): unknown {
  if (include === "None") return undefined;
  if (include === "Object") return o;
  return { kind: "PartialObjectMetadata", apiVersion: "meta.k8s.io/v1", metadata: o.metadata };
}

export function toTable(
  r: ResourceDef,
  items: KObject[],
  resourceVersion: string,
  includeObject: string | null,
  listMeta: Record<string, unknown> = {},
): Record<string, unknown> {
  const printer = PRINTERS[r.kind] ?? DEFAULT_PRINTER;
  return {
    kind: "Table",
    apiVersion: "meta.k8s.io/v1",
    metadata: { resourceVersion, ...listMeta },
    columnDefinitions: printer.columns,
    rows: items.map((o) => ({
      cells: printer.cells(o),
      object: rowObject({ ...o, apiVersion: o.apiVersion ?? "", kind: o.kind ?? r.kind } as KObject, includeObject ?? "Metadata"),
    })),
  };
}
