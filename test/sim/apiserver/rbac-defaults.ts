/**
 * The RBAC objects an API server bootstraps (kubernetes plugin/pkg/auth/authorizer/rbac/
 * bootstrappolicy/policy.go, clusterRoles and clusterRoleBindings), limited to what a user of a
 * kind or minikube cluster meets: cluster-admin, the discovery and self-review roles every
 * authenticated user holds, and the user-facing admin, edit and view roles. The aggregated roles
 * are written out with the rules their aggregate-to-* parts give them in Kubernetes 1.33 (no
 * endpoints write in edit since 1.22); the aggregation controller itself is not modelled.
 * kubeadm adds the `kubeadm:cluster-admins` binding its admin.conf user relies on (kubeadm
 * phases/kubeconfig, 1.29+); kind and minikube both run kubeadm.
 */
import type { KObject } from "./types.js";

const READ = ["get", "list", "watch"];
const WRITE = ["create", "delete", "deletecollection", "patch", "update"];

interface Rule {
  verbs: string[];
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

const rule = (verbs: string[], apiGroups: string[], resources: string[]): Rule => ({ verbs, apiGroups, resources });
const urls = (verbs: string[], nonResourceURLs: string[]): Rule => ({ verbs, nonResourceURLs });

const VIEW: Rule[] = [
  rule(
    READ,
    [""],
    [
      "pods",
      "replicationcontrollers",
      "replicationcontrollers/scale",
      "serviceaccounts",
      "services",
      "services/status",
      "endpoints",
      "persistentvolumeclaims",
      "persistentvolumeclaims/status",
      "configmaps",
    ],
  ),
  rule(
    READ,
    [""],
    [
      "limitranges",
      "resourcequotas",
      "bindings",
      "events",
      "pods/status",
      "resourcequotas/status",
      "namespaces/status",
      "replicationcontrollers/status",
      "pods/log",
    ],
  ),
  // "read access to namespaces at the namespace scope means you can read *this* namespace"
  rule(READ, [""], ["namespaces"]),
  rule(READ, ["discovery.k8s.io"], ["endpointslices"]),
  rule(
    READ,
    ["apps"],
    [
      "controllerrevisions",
      "statefulsets",
      "statefulsets/status",
      "statefulsets/scale",
      "daemonsets",
      "daemonsets/status",
      "deployments",
      "deployments/status",
      "deployments/scale",
      "replicasets",
      "replicasets/status",
      "replicasets/scale",
    ],
  ),
  rule(READ, ["autoscaling"], ["horizontalpodautoscalers", "horizontalpodautoscalers/status"]),
  rule(READ, ["batch"], ["jobs", "cronjobs", "cronjobs/status", "jobs/status"]),
  rule(READ, ["policy"], ["poddisruptionbudgets", "poddisruptionbudgets/status"]),
  rule(READ, ["networking.k8s.io"], ["networkpolicies", "ingresses", "ingresses/status"]),
];

const EDIT: Rule[] = [
  ...VIEW,
  rule(READ, [""], ["pods/attach", "pods/proxy", "pods/exec", "pods/portforward", "secrets", "services/proxy"]),
  rule(["impersonate"], [""], ["serviceaccounts"]),
  rule(WRITE, [""], ["pods", "pods/attach", "pods/proxy", "pods/exec", "pods/portforward"]),
  rule(["create"], [""], ["pods/eviction"]),
  rule(
    WRITE,
    [""],
    [
      "replicationcontrollers",
      "replicationcontrollers/scale",
      "serviceaccounts",
      "services",
      "services/proxy",
      "persistentvolumeclaims",
      "configmaps",
      "secrets",
    ],
  ),
  rule(["create"], [""], ["serviceaccounts/token"]),
  rule(
    WRITE,
    ["apps"],
    ["statefulsets", "statefulsets/scale", "daemonsets", "deployments", "deployments/scale", "deployments/rollback", "replicasets", "replicasets/scale"],
  ),
  rule(WRITE, ["autoscaling"], ["horizontalpodautoscalers"]),
  rule(WRITE, ["batch"], ["jobs", "cronjobs"]),
  rule(WRITE, ["policy"], ["poddisruptionbudgets"]),
  rule(WRITE, ["networking.k8s.io"], ["networkpolicies", "ingresses"]),
];

const ADMIN: Rule[] = [
  ...EDIT,
  rule(["create"], ["authorization.k8s.io"], ["localsubjectaccessreviews"]),
  rule([...READ, ...WRITE], ["rbac.authorization.k8s.io"], ["roles", "rolebindings"]),
];

const CLUSTER_ROLES: Record<string, Rule[]> = {
  "cluster-admin": [rule(["*"], ["*"], ["*"]), urls(["*"], ["*"])],
  "system:discovery": [
    urls(["get"], ["/livez", "/readyz", "/healthz", "/version", "/version/", "/openapi", "/openapi/*", "/api", "/api/*", "/apis", "/apis/*"]),
  ],
  "system:basic-user": [rule(["create"], ["authorization.k8s.io"], ["selfsubjectaccessreviews", "selfsubjectrulesreviews"])],
  "system:public-info-viewer": [urls(["get"], ["/livez", "/readyz", "/healthz", "/version", "/version/"])],
  admin: ADMIN,
  edit: EDIT,
  view: VIEW,
};

/** [binding name, cluster role, groups bound]. */
const CLUSTER_ROLE_BINDINGS: [string, string, string[]][] = [
  ["cluster-admin", "cluster-admin", ["system:masters"]],
  ["system:discovery", "system:discovery", ["system:authenticated"]],
  ["system:basic-user", "system:basic-user", ["system:authenticated"]],
  ["system:public-info-viewer", "system:public-info-viewer", ["system:authenticated", "system:unauthenticated"]],
  ["kubeadm:cluster-admins", "cluster-admin", ["kubeadm:cluster-admins"]],
];

const BOOTSTRAP_META = { labels: { "kubernetes.io/bootstrapping": "rbac-defaults" }, annotations: { "rbac.authorization.kubernetes.io/autoupdate": "true" } };

export function defaultClusterRoles(): KObject[] {
  return Object.entries(CLUSTER_ROLES).map(([name, rules]) => ({
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRole",
    metadata: { name, ...structuredClone(BOOTSTRAP_META) },
    rules: structuredClone(rules),
  }));
}

export function defaultClusterRoleBindings(): KObject[] {
  return CLUSTER_ROLE_BINDINGS.map(([name, role, groups]) => ({
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRoleBinding",
    metadata: { name, ...structuredClone(BOOTSTRAP_META) },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: role },
    subjects: groups.map((group) => ({ apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: group })),
  }));
}
