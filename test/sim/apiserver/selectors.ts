/**
 * Label and field selectors as the apiserver parses them from `labelSelector=` and
 * `fieldSelector=`, and the LabelSelector objects Deployments and ReplicaSets carry.
 */
import { badRequest } from "./status.js";
import type { LabelSelector } from "./types.js";

export type Requirement =
  { key: string; op: "=" | "!="; value: string } | { key: string; op: "in" | "notin"; values: string[] } | { key: string; op: "exists" | "!exists" };

export type Labels = Record<string, string> | undefined;

/** Splits on commas that are not inside a parenthesised value list. */
function splitTopLevel(input: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = "";
  for (const ch of input) {
    if (ch === "(") depth++;
    if (ch === ")") depth--;
    if (ch === "," && depth === 0) {
      parts.push(current);
      current = "";
    } else current += ch;
  }
  parts.push(current);
  return parts.map((p) => p.trim()).filter((p) => p.length > 0);
}

export function parseLabelSelector(input: string | undefined): Requirement[] {
  if (!input) return [];
  return splitTopLevel(input).map((term) => {
    let m = /^(\S+)\s+(in|notin)\s*\(([^)]*)\)$/.exec(term);
    if (m)
      return {
        key: m[1] ?? "",
        op: m[2] as "in" | "notin",
        values: (m[3] ?? "")
          .split(",")
          .map((v) => v.trim())
          .filter(Boolean),
      };
    m = /^([^=!\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(term);
    if (m) return { key: m[1] ?? "", op: m[2] === "!=" ? "!=" : "=", value: m[3] ?? "" };
    m = /^!\s*([^=!\s]+)$/.exec(term);
    if (m) return { key: m[1] ?? "", op: "!exists" };
    m = /^([^=!\s(),]+)$/.exec(term);
    if (m) return { key: m[1] ?? "", op: "exists" };
    throw badRequest(`unable to parse requirement: found '${term}', expected: identifier`);
  });
}

export function matchesRequirements(requirements: Requirement[], labels: Labels): boolean {
  const l = labels ?? {};
  return requirements.every((r) => {
    const has = Object.prototype.hasOwnProperty.call(l, r.key);
    const value = l[r.key];
    switch (r.op) {
      case "=":
        return has && value === r.value;
      case "!=":
        return !has || value !== r.value;
      case "in":
        return has && r.values.includes(value ?? "");
      case "notin":
        return !has || !r.values.includes(value ?? "");
      case "exists":
        return has;
      case "!exists":
        return !has;
    }
    return false;
  });
}

/** metav1.LabelSelector semantics: an empty selector matches everything, a missing one nothing. */
export function labelSelectorRequirements(selector: LabelSelector | undefined): Requirement[] | undefined {
  if (!selector) return undefined;
  const reqs: Requirement[] = [];
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) reqs.push({ key, op: "=", value });
  for (const expr of selector.matchExpressions ?? []) {
    switch (expr.operator) {
      case "In":
        reqs.push({ key: expr.key, op: "in", values: expr.values ?? [] });
        break;
      case "NotIn":
        reqs.push({ key: expr.key, op: "notin", values: expr.values ?? [] });
        break;
      case "Exists":
        reqs.push({ key: expr.key, op: "exists" });
        break;
      case "DoesNotExist":
        reqs.push({ key: expr.key, op: "!exists" });
        break;
    }
  }
  return reqs;
}

export function selectorMatches(selector: LabelSelector | undefined, labels: Labels): boolean {
  const reqs = labelSelectorRequirements(selector);
  return reqs !== undefined && matchesRequirements(reqs, labels);
}

/** Renders a LabelSelector as the string form (used in Deployment/ReplicaSet scale status). */
export function selectorString(selector: LabelSelector | undefined): string {
  return (labelSelectorRequirements(selector) ?? [])
    .map((r) => {
      if (r.op === "=" || r.op === "!=") return `${r.key}${r.op}${r.value}`;
      if (r.op === "in" || r.op === "notin") return `${r.key} ${r.op} (${r.values.join(",")})`;
      return r.op === "exists" ? r.key : `!${r.key}`;
    })
    .join(",");
}

export interface FieldRequirement {
  field: string;
  op: "=" | "!=";
  value: string;
}

export function parseFieldSelector(input: string | undefined): FieldRequirement[] {
  if (!input) return [];
  return splitTopLevel(input).map((term) => {
    const m = /^([^=!]+?)\s*(==|=|!=)\s*(.*)$/.exec(term);
    if (!m) throw badRequest(`invalid selector: '${input}'; can't understand '${term}'`);
    return { field: (m[1] ?? "").trim(), op: m[2] === "!=" ? "!=" : "=", value: (m[3] ?? "").trim() };
  });
}
