/** apps/v1 Deployment and ReplicaSet defaulting and validation (pkg/apis/apps/{v1/defaults,validation}). */
import { selectorMatches } from "../selectors.js";
import type { FieldError } from "../status.js";
import { isObject, type Deployment, type LabelSelector, type PodSpec, type PodTemplateSpec, type ReplicaSet } from "../types.js";
import { forbidden, immutable, invalidValue, labelErrors, notSupported, required } from "./meta.js";
import { defaultPodSpec, validatePodSpec } from "./pod.js";

function defaultTemplate(template: PodTemplateSpec | undefined): void {
  if (isObject(template) && isObject(template.spec)) defaultPodSpec(template.spec as PodSpec & Record<string, unknown>);
}

export function defaultDeployment(d: Deployment): void {
  if (!isObject(d.spec)) return;
  d.spec.replicas ??= 1;
  d.spec.strategy ??= {};
  d.spec.strategy.type ??= "RollingUpdate";
  if (d.spec.strategy.type === "RollingUpdate") {
    d.spec.strategy.rollingUpdate ??= {};
    d.spec.strategy.rollingUpdate.maxUnavailable ??= "25%";
    d.spec.strategy.rollingUpdate.maxSurge ??= "25%";
  }
  d.spec.revisionHistoryLimit ??= 10;
  d.spec.progressDeadlineSeconds ??= 600;
  defaultTemplate(d.spec.template);
  d.status ??= {};
}

export function defaultReplicaSet(rs: ReplicaSet): void {
  if (!isObject(rs.spec)) return;
  rs.spec.replicas ??= 1;
  defaultTemplate(rs.spec.template);
  rs.status ??= { replicas: 0 };
}

/** A percentage or a count, as intstr.GetScaledValueFromIntOrPercent reads maxSurge/maxUnavailable. */
export function intOrPercentErrors(field: string, value: unknown): FieldError[] {
  if (value === undefined) return [];
  if (typeof value === "number") return value < 0 ? [invalidValue(field, value, "must be greater than or equal to 0")] : [];
  if (typeof value === "string" && /^\d+%$/.test(value)) {
    return Number(value.slice(0, -1)) > 100 ? [invalidValue(field, value, "must not be greater than 100%")] : [];
  }
  return [
    invalidValue(
      field,
      value,
      "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')",
    ),
  ];
}

function isZero(value: unknown): boolean {
  return value === 0 || value === "0%";
}

function selectorErrors(kind: string, selector: LabelSelector | undefined, template: PodTemplateSpec | undefined): FieldError[] {
  const errors: FieldError[] = [];
  if (!selector || typeof selector !== "object" || Array.isArray(selector)) {
    errors.push(required("spec.selector"));
    return errors;
  }
  if (!Object.keys(selector.matchLabels ?? {}).length && !(selector.matchExpressions ?? []).length) {
    errors.push(invalidValue("spec.selector", selector, `empty selector is invalid for ${kind}`));
  }
  errors.push(...labelErrors("spec.selector.matchLabels", selector.matchLabels));
  const labels = template?.metadata?.labels;
  if (!selectorMatches(selector, labels)) {
    errors.push(invalidValue("spec.template.metadata.labels", labels ?? {}, "`selector` does not match template `labels`"));
  }
  return errors;
}

function templateErrors(template: PodTemplateSpec | undefined): FieldError[] {
  if (!template || typeof template !== "object") return [required("spec.template")];
  const errors: FieldError[] = [];
  errors.push(...labelErrors("spec.template.metadata.labels", template.metadata?.labels));
  errors.push(...validatePodSpec("spec.template.spec", template.spec));
  const policy = template.spec?.restartPolicy;
  if (policy !== undefined && policy !== "Always") errors.push(notSupported("spec.template.spec.restartPolicy", policy, ["Always"]));
  return errors;
}

export function validateDeployment(d: Deployment, old: Deployment | undefined): FieldError[] {
  if (!isObject(d.spec)) return [required("spec")];
  const spec = d.spec;
  const errors: FieldError[] = [];
  if (spec.replicas !== undefined && (typeof spec.replicas !== "number" || spec.replicas < 0))
    errors.push(invalidValue("spec.replicas", spec.replicas, "must be greater than or equal to 0"));
  errors.push(...selectorErrors("deployment", spec.selector, spec.template));
  errors.push(...templateErrors(spec.template));
  const strategy = spec.strategy;
  if (strategy?.type !== undefined && !["RollingUpdate", "Recreate"].includes(strategy.type)) {
    errors.push(notSupported("spec.strategy.type", strategy.type, ["Recreate", "RollingUpdate"]));
  }
  if (strategy?.type === "Recreate" && strategy.rollingUpdate) {
    errors.push(forbidden("spec.strategy.rollingUpdate", "may not be specified when strategy `type` is 'Recreate'"));
  }
  const ru = strategy?.rollingUpdate;
  if (ru) {
    errors.push(...intOrPercentErrors("spec.strategy.rollingUpdate.maxUnavailable", ru.maxUnavailable));
    errors.push(...intOrPercentErrors("spec.strategy.rollingUpdate.maxSurge", ru.maxSurge));
    if (isZero(ru.maxSurge) && isZero(ru.maxUnavailable)) {
      errors.push(invalidValue("spec.strategy.rollingUpdate.maxUnavailable", ru.maxUnavailable, "may not be 0 when `maxSurge` is 0"));
    }
  }
  if (spec.progressDeadlineSeconds !== undefined && spec.progressDeadlineSeconds <= (spec.minReadySeconds ?? 0)) {
    errors.push(invalidValue("spec.progressDeadlineSeconds", spec.progressDeadlineSeconds, "must be greater than minReadySeconds"));
  }
  if (old && JSON.stringify(old.spec.selector) !== JSON.stringify(spec.selector)) errors.push(immutable("spec.selector", spec.selector));
  return errors;
}

export function validateReplicaSet(rs: ReplicaSet, old: ReplicaSet | undefined): FieldError[] {
  if (!isObject(rs.spec)) return [required("spec")];
  const errors: FieldError[] = [];
  if (rs.spec.replicas !== undefined && (typeof rs.spec.replicas !== "number" || rs.spec.replicas < 0))
    errors.push(invalidValue("spec.replicas", rs.spec.replicas, "must be greater than or equal to 0"));
  errors.push(...selectorErrors("replicaset", rs.spec.selector, rs.spec.template));
  errors.push(...templateErrors(rs.spec.template));
  if (old && JSON.stringify(old.spec.selector) !== JSON.stringify(rs.spec.selector)) errors.push(immutable("spec.selector", rs.spec.selector));
  return errors;
}
