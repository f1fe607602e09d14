/**
 * The parts of production manifests that only the production cloud has: storage claims, node
 * pools, GPUs, priority and runtime classes, autoscalers, ingress controllers, custom resources.
 * Locally each would keep a pod Pending or make the API refuse it, so each is removed or replaced,
 * with a row saying what and why. Resources (but devices), probes, env and command stay exactly.
 */
import { kindInfo } from "../manifests/kinds.js";
import type { Substitution } from "./substitution.js";
import { describeObject, isRecord, listAt, recordAt, stringAt, type JsonRecord, type KubeObject } from "../manifests/types.js";
import { podTemplate } from "../manifests/workloads.js";

/** Kinds that do nothing, or cannot work, without the production cluster's add-ons. */
const CLOUD_ONLY_KINDS: Readonly<Record<string, string>> = {
  PersistentVolumeClaim: "its data lives in the production cluster's storage; pods mount an empty directory instead",
  PersistentVolume: "it names production storage",
  StorageClass: "its provisioner is the production cloud's",
  HorizontalPodAutoscaler: "there is no metrics server locally; the replica count stays fixed",
  Ingress: "there is no ingress controller locally; the model is reached on its NodePort",
  IngressClass: "there is no ingress controller locally",
};

/** Node labels every node has, so a nodeSelector on them means the same locally. */
const PORTABLE_NODE_LABELS = new Set(["kubernetes.io/os", "kubernetes.io/arch"]);

/** Volume sources backed by production storage. */
const CLOUD_VOLUMES = [
  "persistentVolumeClaim",
  "awsElasticBlockStore",
  "gcePersistentDisk",
  "azureDisk",
  "azureFile",
  "csi",
  "nfs",
  "cephfs",
  "rbd",
  "iscsi",
  "fc",
  "glusterfs",
  "cinder",
  "portworxVolume",
  "ephemeral",
];

export function withoutCloudOnlyParts(objects: readonly KubeObject[]): { objects: KubeObject[]; substitutions: Substitution[] } {
  const substitutions: Substitution[] = [];
  const kept = objects.filter((object) => {
    const why =
      CLOUD_ONLY_KINDS[object.kind] ??
      (kindInfo(object.apiVersion, object.kind)
        ? undefined
        : `a custom resource of ${object.apiVersion}: its definition and operator are not on the local cluster`);
    if (why !== undefined) substitutions.push({ object: describeObject(object), setting: "", production: "", local: "not applied", why });
    return why === undefined;
  });
  for (const object of kept) {
    const template = podTemplate(object);
    const spec = recordAt(template, "spec");
    if (spec === undefined) continue;
    const row = (setting: string, production: string, local: string, why: string) =>
      substitutions.push({ object: describeObject(object), setting, production, local, why });
    scheduling(spec, row);
    devices(spec, row);
    volumes(spec, row);
    claimTemplates(object, spec, row);
  }
  return { objects: kept, substitutions };
}

type Row = (setting: string, production: string, local: string, why: string) => void;

function scheduling(spec: JsonRecord, row: Row): void {
  const selector = recordAt(spec, "nodeSelector");
  if (selector) {
    const cloud = Object.keys(selector).filter((key) => !PORTABLE_NODE_LABELS.has(key));
    if (cloud.length > 0) {
      const written = labelsText(selector);
      for (const key of cloud) delete selector[key];
      if (Object.keys(selector).length === 0) delete spec.nodeSelector;
      row(
        "nodeSelector",
        written,
        Object.keys(selector).length === 0 ? "none" : labelsText(selector),
        "the local node has none of the production node pools' labels",
      );
    }
  }
  const affinity = recordAt(spec, "affinity");
  if (affinity?.nodeAffinity !== undefined) {
    delete affinity.nodeAffinity;
    row("affinity.nodeAffinity", "as written", "removed", "it selects production nodes by their labels");
  }
  const antiAffinity = recordAt(affinity, "podAntiAffinity");
  if (antiAffinity?.requiredDuringSchedulingIgnoredDuringExecution !== undefined) {
    delete antiAffinity.requiredDuringSchedulingIgnoredDuringExecution;
    if (Object.keys(antiAffinity).length === 0) delete affinity?.podAntiAffinity;
    row("affinity.podAntiAffinity (required)", "as written", "removed", "one local node cannot keep replicas apart, so all but one would stay Pending");
  }
  if (affinity && Object.keys(affinity).length === 0) delete spec.affinity;
  const spread = listAt(spec, "topologySpreadConstraints");
  const strict = spread.filter((constraint) => isRecord(constraint) && constraint.whenUnsatisfiable === "DoNotSchedule");
  if (strict.length > 0) {
    const rest = spread.filter((constraint) => !strict.includes(constraint));
    if (rest.length === 0) delete spec.topologySpreadConstraints;
    else spec.topologySpreadConstraints = rest;
    const keys = strict.map((constraint) => stringAt(constraint, "topologyKey") ?? "?").join(", ");
    row("topologySpreadConstraints (DoNotSchedule)", keys, "removed", "the local cluster has no such zones or nodes to spread over");
  }
  for (const [field, what] of [
    ["priorityClassName", "PriorityClass"],
    ["runtimeClassName", "RuntimeClass"],
  ] as const) {
    const name = stringAt(spec, field);
    if (name === undefined) continue;
    delete spec[field];
    row(field, name, "none", `${what} ${name} does not exist on the local cluster, and the API refuses pods that name a missing one`);
  }
}

/** Extended resources (nvidia.com/gpu, ...) always have a domain; cpu, memory and the rest do not. */
function devices(spec: JsonRecord, row: Row): void {
  for (const container of [...listAt(spec, "initContainers"), ...listAt(spec, "containers")].filter(isRecord)) {
    const resources = recordAt(container, "resources");
    for (const kind of ["limits", "requests"] as const) {
      const list = recordAt(resources, kind);
      for (const key of Object.keys(list ?? {}).filter((name) => name.includes("/"))) {
        const why = /gpu/i.test(key) ? "no GPU on the local cluster: the model runs on CPU, if it can" : "the local node has no such device";
        row(`container ${String(container.name)}: ${kind}.${key}`, String(list?.[key]), "removed", why);
        delete list?.[key];
      }
    }
  }
}

function volumes(spec: JsonRecord, row: Row): void {
  for (const volume of listAt(spec, "volumes").filter(isRecord)) {
    const source = CLOUD_VOLUMES.find((field) => field in volume);
    if (source === undefined) continue;
    const claim = stringAt(recordAt(volume, "persistentVolumeClaim"), "claimName");
    delete volume[source];
    volume.emptyDir = {};
    row(
      `volume ${String(volume.name)}`,
      claim ? `persistentVolumeClaim ${claim}` : source,
      "emptyDir",
      "the data lives in production storage: the pod starts with an empty directory; put what the model needs in the image",
    );
  }
}

/** A StatefulSet's claim templates would each need a provisioned volume: an emptyDir of the same name instead. */
function claimTemplates(object: KubeObject, spec: JsonRecord, row: Row): void {
  const workloadSpec = recordAt(object, "spec");
  const templates = listAt(workloadSpec, "volumeClaimTemplates").filter(isRecord);
  if (templates.length === 0 || workloadSpec === undefined) return;
  delete workloadSpec.volumeClaimTemplates;
  const list = listAt(spec, "volumes");
  for (const template of templates) {
    const name = stringAt(template.metadata, "name") ?? "data";
    list.push({ name, emptyDir: {} });
    row(`volumeClaimTemplate ${name}`, "as written", "emptyDir", "each replica's claim would need production storage: the pod starts with an empty directory");
  }
  spec.volumes = list;
}

function labelsText(labels: JsonRecord): string {
  return Object.entries(labels)
    .map(([key, value]) => `${key}=${String(value)}`)
    .join(",");
}
