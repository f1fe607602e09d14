/**
 * May this user do this? The attributes of a request as the apiserver's RequestInfoFactory derives
 * them (k8s.io/apiserver pkg/endpoints/request/requestinfo.go), the privileged-group authorizer for
 * system:masters, and the RBAC authorizer's rule matching (kubernetes plugin/pkg/auth/authorizer/
 * rbac/rbac.go and pkg/apis/rbac/v1/evaluation_helpers.go) over the Roles, ClusterRoles and their
 * bindings in the store. Denials carry the apiserver's wording (responsewriters.Forbidden).
 */
import type { UserInfo } from "./authn.js";
import type { Registry } from "./registry.js";
import { R } from "./resources.js";
import { ApiError } from "./status.js";
import { isObject, type KObject } from "./types.js";

export interface Attributes {
  verb: string;
  resourceRequest: boolean;
  apiGroup: string;
  resource: string;
  subresource: string;
  namespace: string;
  name: string;
  /** Non-resource requests: the URL path. */
  path: string;
}

export interface Decision {
  allowed: boolean;
  reason: string;
}

/** Attributes with everything not given empty: a non-resource request unless it says otherwise. */
export function attributesOf(fields: Partial<Attributes>): Attributes {
  return { verb: "", resourceRequest: false, apiGroup: "", resource: "", subresource: "", namespace: "", name: "", path: "", ...fields };
}

const METHOD_VERBS: Record<string, string> = { POST: "create", GET: "get", HEAD: "get", PUT: "update", PATCH: "patch", DELETE: "delete" };
const NAMESPACE_SUBRESOURCES = new Set(["status", "finalize"]);

/** RequestInfoFactory.NewRequestInfo, for the URL forms the stand-in serves. */
export function requestAttributes(method: string, rawUrl: string): Attributes {
  const url = new URL(rawUrl, "https://127.0.0.1");
  const path = url.pathname;
  const nonResource = attributesOf({ verb: method.toLowerCase(), path });
  let parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  let apiGroup = "";
  if (parts[0] === "api") parts = parts.slice(1);
  else if (parts[0] === "apis" && parts.length >= 4) {
    apiGroup = parts[1] ?? "";
    parts = parts.slice(2);
  } else return nonResource;
  // parts: VERSION, then the resource path.
  if (parts.length < 2) return nonResource;
  parts = parts.slice(1);
  let verb = METHOD_VERBS[method] ?? "";
  if (parts[0] === "watch") {
    verb = "watch";
    parts = parts.slice(1);
  }
  let namespace = "";
  if (parts[0] === "namespaces" && parts.length > 1) {
    namespace = parts[1] ?? "";
    if (parts.length > 2 && !NAMESPACE_SUBRESOURCES.has(parts[2] ?? "")) parts = parts.slice(2);
  }
  const [resource = "", name = "", subresource = ""] = parts;
  const attributes: Attributes = { verb, resourceRequest: true, apiGroup, resource, subresource, namespace, name, path };
  if (!name && verb === "get") {
    attributes.verb = /^(true|1)$/.test(url.searchParams.get("watch") ?? "") ? "watch" : "list";
    // A list narrowed to one name by field selector is authorized as that name (RequiresExactMatch).
    const exact = /(?:^|,)metadata\.name==?([^,]+)(?:,|$)/.exec(url.searchParams.get("fieldSelector") ?? "")?.[1];
    if (exact) attributes.name = exact;
  }
  if (!name && verb === "delete") attributes.verb = "deletecollection";
  return attributes;
}

interface Rule {
  verbs?: string[];
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

interface Subject {
  kind?: string;
  name?: string;
  namespace?: string;
}

const includesOrAll = (list: string[] | undefined, value: string): boolean => (list ?? []).some((item) => item === "*" || item === value);

/** evaluation_helpers.go: ResourceMatches, including the "*\/subresource" form. */
function resourceMatches(rule: Rule, a: Attributes): boolean {
  const combined = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  return (rule.resources ?? []).some((r) => r === "*" || r === combined || (a.subresource !== "" && r === `*/${a.subresource}`));
}

function urlMatches(rule: Rule, path: string): boolean {
  return (rule.nonResourceURLs ?? []).some((u) => u === "*" || u === path || (u.endsWith("*") && path.startsWith(u.slice(0, -1))));
}

/** RuleAllows. */
function ruleAllows(rule: Rule, a: Attributes): boolean {
  if (!includesOrAll(rule.verbs, a.verb)) return false;
  if (!a.resourceRequest) return urlMatches(rule, a.path);
  if (!includesOrAll(rule.apiGroups, a.apiGroup) || !resourceMatches(rule, a)) return false;
  return (rule.resourceNames ?? []).length === 0 || (rule.resourceNames ?? []).includes(a.name);
}

/** appliesToUser. */
function subjectMatches(subject: Subject, user: UserInfo, bindingNamespace: string): boolean {
  if (subject.kind === "User") return subject.name === user.name;
  if (subject.kind === "Group") return user.groups.includes(subject.name ?? "");
  if (subject.kind === "ServiceAccount") return user.name === `system:serviceaccount:${subject.namespace || bindingNamespace}:${subject.name ?? ""}`;
  return false;
}

/** validation/rule.go describeSubject. */
function describeSubject(subject: Subject, bindingNamespace: string): string {
  if (subject.kind === "ServiceAccount") return `ServiceAccount "${subject.name ?? ""}/${subject.namespace || bindingNamespace}"`;
  return `${subject.kind ?? ""} "${subject.name ?? ""}"`;
}

function rulesOf(role: KObject | undefined): Rule[] {
  return Array.isArray(role?.rules) ? (role.rules as Rule[]) : [];
}

function find(registry: Registry, r: typeof R.roles, namespace: string | undefined, name: string): KObject | undefined {
  try {
    return registry.get(r, namespace, name);
  } catch {
    return undefined;
  }
}

/** The RBAC authorizer: ClusterRoleBindings first, then the RoleBindings of the request's namespace. */
function rbac(registry: Registry, user: UserInfo, a: Attributes): Decision {
  const errors: string[] = [];
  const bindings: { binding: KObject; kind: "ClusterRoleBinding" | "RoleBinding" }[] = [
    ...registry.list(R.clusterrolebindings, undefined, {}).map((binding) => ({ binding, kind: "ClusterRoleBinding" as const })),
    ...(a.namespace ? registry.list(R.rolebindings, a.namespace, {}).map((binding) => ({ binding, kind: "RoleBinding" as const })) : []),
  ];
  for (const { binding, kind } of bindings) {
    const namespace = binding.metadata.namespace ?? "";
    const subjects = (Array.isArray(binding.subjects) ? binding.subjects : []) as Subject[];
    const subject = subjects.find((s) => subjectMatches(s, user, namespace));
    if (!subject) continue;
    const ref = (isObject(binding.roleRef) ? binding.roleRef : {}) as { kind?: string; name?: string };
    const role = ref.kind === "Role" ? find(registry, R.roles, namespace, ref.name ?? "") : find(registry, R.clusterroles, undefined, ref.name ?? "");
    if (!role) {
      errors.push(`${ref.kind === "Role" ? "role" : "clusterrole"}.rbac.authorization.k8s.io "${ref.name ?? ""}" not found`);
      continue;
    }
    if (rulesOf(role).some((rule) => ruleAllows(rule, a))) {
      const bindingName = kind === "RoleBinding" ? `${binding.metadata.name ?? ""}/${namespace}` : (binding.metadata.name ?? "");
      return {
        allowed: true,
        reason: `RBAC: allowed by ${kind} "${bindingName}" of ${ref.kind ?? ""} "${ref.name ?? ""}" to ${describeSubject(subject, namespace)}`,
      };
    }
  }
  // utilerrors.NewAggregate: one error as itself, several in brackets.
  const aggregate = errors.length === 1 ? errors[0] : `[${errors.join(", ")}]`;
  return { allowed: false, reason: errors.length === 0 ? "" : `RBAC: ${aggregate}` };
}

/** The authorizer chain kubeadm configures (Node,RBAC), behind the privileged-group authorizer. */
export function authorize(registry: Registry, user: UserInfo, a: Attributes): Decision {
  if (user.groups.includes("system:masters")) return { allowed: true, reason: "" };
  return rbac(registry, user, a);
}

/** responsewriters.Forbidden, as apierrors.NewForbidden words it. */
export function forbidden(user: UserInfo, a: Attributes, reason: string): ApiError {
  let message: string;
  if (!a.resourceRequest) message = `User "${user.name}" cannot ${a.verb} path "${a.path}"`;
  else {
    const resource = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
    const scope = a.namespace ? `in the namespace "${a.namespace}"` : "at the cluster scope";
    message = `User "${user.name}" cannot ${a.verb} resource "${resource}" in API group "${a.apiGroup}" ${scope}`;
  }
  if (reason) message = `${message}: ${reason}`;
  if (!a.resourceRequest) return new ApiError(403, "Forbidden", `forbidden: ${message}`, {});
  const qualified = a.apiGroup ? `${a.resource}.${a.apiGroup}` : a.resource;
  const subject = a.name ? `${qualified} "${a.name}"` : qualified;
  return new ApiError(403, "Forbidden", `${subject} is forbidden: ${message}`, {
    ...(a.name ? { name: a.name } : {}),
    ...(a.apiGroup ? { group: a.apiGroup } : {}),
    kind: a.resource,
  });
}

/** Authorizes a request or throws the apiserver's 403. */
export function checkRequest(registry: Registry, user: UserInfo, method: string, url: string): void {
  const attributes = requestAttributes(method, url);
  const decision = authorize(registry, user, attributes);
  if (!decision.allowed) throw forbidden(user, attributes, decision.reason);
}
