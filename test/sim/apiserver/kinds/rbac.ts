/**
 * rbac.authorization.k8s.io/v1: Role, ClusterRole, RoleBinding, ClusterRoleBinding. Validation
 * follows kubernetes pkg/apis/rbac/validation/validation.go (ValidatePolicyRule,
 * ValidateRoleBindingSubject, the roleRef checks and "cannot change roleRef" on update). The
 * apiserver's escalation checks (a user may only grant what they hold) are not modelled: see README.
 */
import type { FieldError } from "../status.js";
import { isObject, type KObject } from "../types.js";
import { invalidValue, notSupported, required } from "./meta.js";

const GROUP = "rbac.authorization.k8s.io";

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
}

/** ValidatePolicyRule: verbs always; resource rules need apiGroups and resources; URL rules stand alone. */
function ruleErrors(rules: unknown, namespaced: boolean): FieldError[] {
  if (rules === undefined || rules === null) return [];
  if (!Array.isArray(rules)) return [invalidValue("rules", rules, "must be a list")];
  const errors: FieldError[] = [];
  rules.forEach((rule: unknown, i) => {
    const field = `rules[${i}]`;
    const r = isObject(rule) ? rule : {};
    if (strings(r.verbs).length === 0) errors.push(required(`${field}.verbs`, "verbs must contain at least one value"));
    const urls = strings(r.nonResourceURLs);
    if (urls.length > 0) {
      if (namespaced) errors.push(invalidValue(`${field}.nonResourceURLs`, urls, "namespaced rules cannot apply to non-resource URLs"));
      if (strings(r.apiGroups).length > 0 || strings(r.resources).length > 0)
        errors.push(invalidValue(`${field}.nonResourceURLs`, urls, "rules cannot apply to both regular resources and non-resource URLs"));
      return;
    }
    if (strings(r.apiGroups).length === 0) errors.push(required(`${field}.apiGroups`, "resource rules must supply at least one api group"));
    if (strings(r.resources).length === 0) errors.push(required(`${field}.resources`, "resource rules must supply at least one resource"));
  });
  return errors;
}

function subjectErrors(subjects: unknown): FieldError[] {
  if (subjects === undefined || subjects === null) return [];
  if (!Array.isArray(subjects)) return [invalidValue("subjects", subjects, "must be a list")];
  const errors: FieldError[] = [];
  subjects.forEach((subject: unknown, i) => {
    const field = `subjects[${i}]`;
    const s = isObject(subject) ? subject : {};
    if (typeof s.name !== "string" || s.name === "") errors.push(required(`${field}.name`));
    if (!["User", "Group", "ServiceAccount"].includes(String(s.kind))) errors.push(notSupported(`${field}.kind`, s.kind, ["ServiceAccount", "User", "Group"]));
    if (s.kind === "ServiceAccount" && s.apiGroup) errors.push(notSupported(`${field}.apiGroup`, s.apiGroup, [""]));
    if ((s.kind === "User" || s.kind === "Group") && s.apiGroup !== GROUP) errors.push(notSupported(`${field}.apiGroup`, s.apiGroup, [GROUP]));
  });
  return errors;
}

function roleRefErrors(obj: KObject, old: KObject | undefined, kinds: string[]): FieldError[] {
  const ref = isObject(obj.roleRef) ? obj.roleRef : {};
  const errors: FieldError[] = [];
  if (ref.apiGroup !== GROUP) errors.push(notSupported("roleRef.apiGroup", ref.apiGroup, [GROUP]));
  if (!kinds.includes(String(ref.kind))) errors.push(notSupported("roleRef.kind", ref.kind, kinds));
  if (typeof ref.name !== "string" || ref.name === "") errors.push(required("roleRef.name"));
  if (old && JSON.stringify(old.roleRef) !== JSON.stringify(obj.roleRef)) errors.push(invalidValue("roleRef", obj.roleRef, "cannot change roleRef"));
  return errors;
}

export const validateRole = (role: KObject): FieldError[] => ruleErrors(role.rules, true);
export const validateClusterRole = (role: KObject): FieldError[] => ruleErrors(role.rules, false);
export const validateRoleBinding = (binding: KObject, old: KObject | undefined): FieldError[] => [
  ...roleRefErrors(binding, old, ["Role", "ClusterRole"]),
  ...subjectErrors(binding.subjects),
];
export const validateClusterRoleBinding = (binding: KObject, old: KObject | undefined): FieldError[] => [
  ...roleRefErrors(binding, old, ["ClusterRole"]),
  ...subjectErrors(binding.subjects),
];
