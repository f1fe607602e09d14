/**
 * Checks the API server makes beyond the OpenAPI schema (its validation is Go code, not schema):
 * an object needs a well-formed name, a container needs an image, and a workload's selector must
 * select its own pod template. Each of these otherwise fails only at apply time, or worse, after.
 */
import type { SchemaProblem } from "./schema-check.js";
import { isRecord, listAt, recordAt, stringAt, type JsonRecord } from "./types.js";
import { SELECTOR_KINDS, containersOf, podTemplate, templatePath } from "./workloads.js";

/** DNS-1123 subdomain: what most object names must be. */
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** DNS-1035 label: Service names, which become DNS names inside the cluster. */
const DNS_LABEL_1035 = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

export function checkRules(object: JsonRecord): SchemaProblem[] {
  return [...checkName(object), ...checkImages(object), ...checkSelector(object)];
}

export function checkName(object: JsonRecord): SchemaProblem[] {
  const metadata = recordAt(object, "metadata");
  const name = metadata?.name;
  if (name === undefined || name === null) {
    // generateName makes a fresh object on every apply, which mlkube could never update or prune.
    return [{ path: ["metadata", "name"], message: "required field is missing (every object mlkube applies needs a name)" }];
  }
  if (typeof name !== "string") return []; // the schema check reports the type
  if (object.kind === "Service") {
    if (name.length > 63 || !DNS_LABEL_1035.test(name)) {
      return [
        {
          path: ["metadata", "name"],
          message: `"${name}" is not a valid Service name: lowercase letters, digits and "-", starting with a letter, at most 63 characters`,
        },
      ];
    }
  } else if (name.length > 253 || !DNS_SUBDOMAIN.test(name)) {
    return [
      {
        path: ["metadata", "name"],
        message: `"${name}" is not a valid name: lowercase letters, digits, "-" and ".", starting and ending with a letter or digit`,
      },
    ];
  }
  return [];
}

function checkImages(object: JsonRecord): SchemaProblem[] {
  const problems: SchemaProblem[] = [];
  for (const { container, path } of containersOf(object)) {
    const image = container.image;
    if (image === undefined || image === null || (typeof image === "string" && image.trim() === "")) {
      problems.push({ path: [...path, "image"], message: "required field is missing (the container needs an image)" });
    }
  }
  const template = templatePath(String(object.kind));
  if (template !== undefined) {
    listAt(recordAt(podTemplate(object), "spec"), "initContainers").forEach((container, index) => {
      if (isRecord(container) && (container.image === undefined || container.image === null || container.image === "")) {
        problems.push({ path: [...template, "spec", "initContainers", index, "image"], message: "required field is missing (the container needs an image)" });
      }
    });
  }
  return problems;
}

function checkSelector(object: JsonRecord): SchemaProblem[] {
  if (!SELECTOR_KINDS.has(String(object.kind))) return [];
  const selector = recordAt(object.spec, "selector");
  if (selector === undefined) return []; // missing: the schema reports the required field
  const matchLabels = recordAt(selector, "matchLabels") ?? {};
  const expressions = listAt(selector, "matchExpressions").filter(isRecord);
  if (Object.keys(matchLabels).length === 0 && expressions.length === 0) {
    return [{ path: ["spec", "selector"], message: "the selector is empty; it must select the pod template's labels (e.g. matchLabels: {app: NAME})" }];
  }
  const labels = recordAt(recordAt(podTemplate(object), "metadata"), "labels") ?? {};
  const mismatches = [
    ...Object.entries(matchLabels)
      .filter(([key, value]) => labels[key] !== value)
      .map(([key, value]) => `${key}=${String(value)}`),
    ...expressions.filter((expression) => !matchesExpression(expression, labels)).map(describeExpression),
  ];
  if (mismatches.length === 0) return [];
  const templateLabels = Object.entries(labels)
    .map(([key, value]) => `${key}=${String(value)}`)
    .join(", ");
  return [
    {
      path: ["spec", "selector"],
      message: `the selector does not match the pod template's labels: it requires ${mismatches.join(", ")}, but the template has ${templateLabels === "" ? "no labels" : templateLabels}`,
    },
  ];
}

function matchesExpression(expression: JsonRecord, labels: JsonRecord): boolean {
  const key = stringAt(expression, "key") ?? "";
  const values = listAt(expression, "values").map(String);
  const has = Object.hasOwn(labels, key);
  switch (expression.operator) {
    case "In":
      return has && values.includes(String(labels[key]));
    case "NotIn":
      return !has || !values.includes(String(labels[key]));
    case "Exists":
      return has;
    case "DoesNotExist":
      return !has;
    default:
      return true; // an unknown operator is the API server's to reject, not a mismatch
  }
}

function describeExpression(expression: JsonRecord): string {
  const values = listAt(expression, "values").map(String);
  return `${stringAt(expression, "key") ?? "?"} ${String(expression.operator)}${values.length > 0 ? ` (${values.join(", ")})` : ""}`;
}
