/**
 * The resource table: every kind the stand-in serves, how it is addressed (group, version,
 * plural, namespaced) and the per-kind rules the generic registry applies (defaults, validation,
 * allocation, status subresource, generation). Discovery documents are generated from it, so what
 * discovery advertises is exactly what the router serves.
 */
import { defaultDeployment, defaultReplicaSet, validateDeployment, validateReplicaSet } from "./kinds/apps.js";
import { defaultNamespace, defaultSecret, validateConfigMap, validateEvent, validateSecret } from "./kinds/core.js";
import type { NameRule } from "./kinds/meta.js";
import { defaultPod, validatePod } from "./kinds/pod.js";
import { validateClusterRole, validateClusterRoleBinding, validateRole, validateRoleBinding } from "./kinds/rbac.js";
import { allocateService, defaultService, validateService } from "./kinds/service.js";
import type { FieldError } from "./status.js";
import type { Deployment, KObject, Pod, ReplicaSet, Service } from "./types.js";

export interface ResourceDef {
  group: string;
  version: string;
  plural: string;
  singular: string;
  kind: string;
  namespaced: boolean;
  shortNames: string[];
  categories: string[];
  nameRule: NameRule;
  /** Has a /status subresource: writes to the main resource keep the old status, and back. */
  statusSubresource: boolean;
  /** metadata.generation counts spec changes (workload kinds). */
  bumpsGeneration: boolean;
  /** DELETE answers the deleted object rather than a Status (pods and services do). */
  returnDeletedObject: boolean;
  defaults?(obj: KObject): void;
  validate?(obj: KObject, old: KObject | undefined): FieldError[];
  /** Inline allocation against the other objects of the kind (ClusterIPs, nodePorts). */
  allocate?(obj: KObject, old: KObject | undefined, others: KObject[]): FieldError[];
}

export const VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];

function def(partial: Partial<ResourceDef> & Pick<ResourceDef, "plural" | "singular" | "kind">): ResourceDef {
  return {
    group: "",
    version: "v1",
    namespaced: true,
    shortNames: [],
    categories: [],
    nameRule: "subdomain",
    statusSubresource: false,
    bumpsGeneration: false,
    returnDeletedObject: false,
    ...partial,
  };
}

export const RESOURCES: ResourceDef[] = [
  def({
    plural: "namespaces",
    singular: "namespace",
    kind: "Namespace",
    namespaced: false,
    shortNames: ["ns"],
    nameRule: "label",
    statusSubresource: true,
    defaults: defaultNamespace,
  }),
  def({ plural: "nodes", singular: "node", kind: "Node", namespaced: false, shortNames: ["no"], statusSubresource: true }),
  def({
    plural: "pods",
    singular: "pod",
    kind: "Pod",
    shortNames: ["po"],
    categories: ["all"],
    statusSubresource: true,
    returnDeletedObject: true,
    defaults: (o) => defaultPod(o as Pod),
    validate: (o, old) => validatePod(o as Pod, old as Pod | undefined),
  }),
  def({
    plural: "services",
    singular: "service",
    kind: "Service",
    shortNames: ["svc"],
    categories: ["all"],
    nameRule: "dns1035",
    statusSubresource: true,
    returnDeletedObject: true,
    defaults: (o) => defaultService(o as Service),
    validate: (o) => validateService(o as Service),
    allocate: (o, old, others) => allocateService(o as Service, old as Service | undefined, others as Service[]),
  }),
  def({ plural: "endpoints", singular: "endpoints", kind: "Endpoints", shortNames: ["ep"] }),
  def({ plural: "events", singular: "event", kind: "Event", shortNames: ["ev"], validate: (o) => validateEvent(o) }),
  def({ plural: "configmaps", singular: "configmap", kind: "ConfigMap", shortNames: ["cm"], validate: (o) => validateConfigMap(o) }),
  def({ plural: "secrets", singular: "secret", kind: "Secret", defaults: defaultSecret, validate: (o) => validateSecret(o) }),
  def({ plural: "serviceaccounts", singular: "serviceaccount", kind: "ServiceAccount", shortNames: ["sa"] }),
  def({
    group: "apps",
    plural: "deployments",
    singular: "deployment",
    kind: "Deployment",
    shortNames: ["deploy"],
    categories: ["all"],
    statusSubresource: true,
    bumpsGeneration: true,
    defaults: (o) => defaultDeployment(o as Deployment),
    validate: (o, old) => validateDeployment(o as Deployment, old as Deployment | undefined),
  }),
  def({
    group: "apps",
    plural: "replicasets",
    singular: "replicaset",
    kind: "ReplicaSet",
    shortNames: ["rs"],
    categories: ["all"],
    statusSubresource: true,
    bumpsGeneration: true,
    defaults: (o) => defaultReplicaSet(o as ReplicaSet),
    validate: (o, old) => validateReplicaSet(o as ReplicaSet, old as ReplicaSet | undefined),
  }),
  // RBAC objects: names are path segments, not DNS names (ValidateRBACName).
  def({ group: "rbac.authorization.k8s.io", plural: "roles", singular: "role", kind: "Role", nameRule: "path", validate: (o) => validateRole(o) }),
  def({
    group: "rbac.authorization.k8s.io",
    plural: "clusterroles",
    singular: "clusterrole",
    kind: "ClusterRole",
    namespaced: false,
    nameRule: "path",
    validate: (o) => validateClusterRole(o),
  }),
  def({
    group: "rbac.authorization.k8s.io",
    plural: "rolebindings",
    singular: "rolebinding",
    kind: "RoleBinding",
    nameRule: "path",
    validate: validateRoleBinding,
  }),
  def({
    group: "rbac.authorization.k8s.io",
    plural: "clusterrolebindings",
    singular: "clusterrolebinding",
    kind: "ClusterRoleBinding",
    namespaced: false,
    nameRule: "path",
    validate: validateClusterRoleBinding,
  }),
];

export function apiVersionOf(r: ResourceDef): string {
  return r.group ? `${r.group}/${r.version}` : r.version;
}

/** Store key of a resource: `pods`, `deployments.apps`. */
export function storeKey(r: ResourceDef): string {
  return r.group ? `${r.plural}.${r.group}` : r.plural;
}

export function findResource(group: string, version: string, plural: string): ResourceDef | undefined {
  return RESOURCES.find((r) => r.group === group && r.version === version && r.plural === plural);
}

export function resourceFor(kind: string, group = ""): ResourceDef {
  const r = RESOURCES.find((x) => x.kind === kind && x.group === group);
  if (!r) throw new Error(`no resource for kind ${kind}`);
  return r;
}

export const R = {
  namespaces: resourceFor("Namespace"),
  nodes: resourceFor("Node"),
  pods: resourceFor("Pod"),
  services: resourceFor("Service"),
  endpoints: resourceFor("Endpoints"),
  events: resourceFor("Event"),
  configmaps: resourceFor("ConfigMap"),
  secrets: resourceFor("Secret"),
  deployments: resourceFor("Deployment", "apps"),
  replicasets: resourceFor("ReplicaSet", "apps"),
  roles: resourceFor("Role", "rbac.authorization.k8s.io"),
  clusterroles: resourceFor("ClusterRole", "rbac.authorization.k8s.io"),
  rolebindings: resourceFor("RoleBinding", "rbac.authorization.k8s.io"),
  clusterrolebindings: resourceFor("ClusterRoleBinding", "rbac.authorization.k8s.io"),
};

export function resourceByApiVersionKind(apiVersion: string | undefined, kind: string | undefined): ResourceDef | undefined {
  return RESOURCES.find((r) => apiVersionOf(r) === apiVersion && r.kind === kind);
}
