/**
 * The built-in kinds mlkube knows, by apiVersion, and the @kubernetes/client-node model that
 * describes each. The models carry every field and its type (from Kubernetes' OpenAPI), but not
 * which API group serves a kind: this table supplies that. A unit test checks that every model
 * named here exists and describes an object with apiVersion and kind.
 */

interface KindInfo {
  apiVersion: string;
  kind: string;
  /** Name of the model class in @kubernetes/client-node, e.g. `V1Deployment`. */
  model: string;
  namespaced: boolean;
}

/** [apiVersion, kind, cluster-scoped?, model name when it is not `<Version><Kind>`] */
type Row = readonly [apiVersion: string, kind: string, clusterScoped?: boolean, model?: string];

const ROWS: readonly Row[] = [
  ["v1", "Pod"],
  ["v1", "Service"],
  ["v1", "ConfigMap"],
  ["v1", "Secret"],
  ["v1", "ServiceAccount"],
  ["v1", "PersistentVolumeClaim"],
  ["v1", "ReplicationController"],
  ["v1", "LimitRange"],
  ["v1", "ResourceQuota"],
  ["v1", "Endpoints"],
  ["v1", "Event", false, "CoreV1Event"],
  ["v1", "Namespace", true],
  ["v1", "PersistentVolume", true],
  ["apps/v1", "Deployment"],
  ["apps/v1", "StatefulSet"],
  ["apps/v1", "DaemonSet"],
  ["apps/v1", "ReplicaSet"],
  ["batch/v1", "Job"],
  ["batch/v1", "CronJob"],
  ["autoscaling/v1", "HorizontalPodAutoscaler"],
  ["autoscaling/v2", "HorizontalPodAutoscaler"],
  ["networking.k8s.io/v1", "Ingress"],
  ["networking.k8s.io/v1", "NetworkPolicy"],
  ["networking.k8s.io/v1", "IngressClass", true],
  ["policy/v1", "PodDisruptionBudget"],
  ["discovery.k8s.io/v1", "EndpointSlice"],
  ["rbac.authorization.k8s.io/v1", "Role"],
  ["rbac.authorization.k8s.io/v1", "RoleBinding"],
  ["rbac.authorization.k8s.io/v1", "ClusterRole", true],
  ["rbac.authorization.k8s.io/v1", "ClusterRoleBinding", true],
  ["scheduling.k8s.io/v1", "PriorityClass", true],
  ["storage.k8s.io/v1", "StorageClass", true],
];

export const KINDS: readonly KindInfo[] = ROWS.map(([apiVersion, kind, clusterScoped = false, model]) => ({
  apiVersion,
  kind,
  model: model ?? conventionalModel(apiVersion, kind),
  namespaced: !clusterScoped,
}));

/** API groups Kubernetes itself serves; any other group belongs to a custom resource. */
const BUILT_IN_GROUPS = new Set(KINDS.map((info) => groupOf(info.apiVersion)));

export function kindInfo(apiVersion: string, kind: string): KindInfo | undefined {
  return KINDS.find((info) => info.apiVersion === apiVersion && info.kind === kind);
}

/** `apps` for `apps/v1`, "" for the core group (`v1`). */
function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf("/");
  return slash < 0 ? "" : apiVersion.slice(0, slash);
}

/**
 * A custom resource: its group is not one Kubernetes serves and looks like a domain
 * (`monitoring.coreos.com/v1`). mlkube cannot check its fields, only pass it through.
 */
export function isCustomResource(apiVersion: string): boolean {
  const group = groupOf(apiVersion);
  return group.includes(".") && !BUILT_IN_GROUPS.has(group) && !group.endsWith(".k8s.io");
}

/**
 * The client-node model for a kind by the generator's naming convention, `<Version><Kind>`
 * (`V1Lease` for coordination.k8s.io/v1 Lease). Used for built-in kinds the table above leaves out.
 */
export function conventionalModel(apiVersion: string, kind: string): string {
  return `${capitalize(apiVersion.split("/").at(-1) ?? "")}${kind}`;
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
