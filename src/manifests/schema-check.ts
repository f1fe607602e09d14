/**
 * Checks one object against the Kubernetes schema (kube-schema.ts): every field known (a typo gets
 * a "did you mean"), every value of the declared type, every required field present. Walks the
 * model types the way the API server decodes them, so a problem is reported at its exact path.
 */
import { describeValue } from "../config/errors.js";
import { closest } from "../core/suggest.js";
import type { KubeSchema, ModelSchema } from "./kube-schema.js";
import { isRecord } from "./types.js";

export type Path = (string | number)[];

export interface SchemaProblem {
  path: Path;
  message: string;
  /** The problem is the key itself (an unknown field): point at the key, not its value. */
  atKey?: boolean;
}

/**
 * Fields of type Quantity, which the API accepts as a number too (`cpu: 1`). The client's
 * generator flattens Quantity to string, so this is the one thing the models cannot tell.
 */
const QUANTITY_FIELDS = new Set([
  "V1ResourceRequirements.limits",
  "V1ResourceRequirements.requests",
  "V1VolumeResourceRequirements.limits",
  "V1VolumeResourceRequirements.requests",
  "V1EmptyDirVolumeSource.sizeLimit",
  "V1LimitRangeItem.default",
  "V1LimitRangeItem.defaultRequest",
  "V1LimitRangeItem.max",
  "V1LimitRangeItem.min",
  "V1LimitRangeItem.maxLimitRequestRatio",
  "V1ResourceQuotaSpec.hard",
  "V1PodSpec.overhead",
  "V1PersistentVolumeSpec.capacity",
  "V2MetricTarget.averageValue",
  "V2MetricTarget.value",
]);

/** Fields listed in full in an "unknown field" message; longer lists point at kubectl explain. */
const MAX_LISTED_FIELDS = 8;

export function checkAgainstSchema(object: unknown, modelName: string, schema: KubeSchema, explainRoot: string): SchemaProblem[] {
  const problems: SchemaProblem[] = [];
  const context = { schema, problems, explainRoot };
  checkValue(object, modelName, "", [], false, context);
  return problems;
}

interface Context {
  schema: KubeSchema;
  problems: SchemaProblem[];
  /** The kind in lowercase, for `kubectl explain deployment.spec...`. */
  explainRoot: string;
}

function checkValue(value: unknown, type: string, format: string, path: Path, quantity: boolean, context: Context): void {
  // The API server treats null as "not set" (`env:` with nothing under it is fine).
  if (value === null || value === undefined || type === "any") return;
  const expected = (phrase: string, hint = ""): void => {
    context.problems.push({ path, message: `expected ${phrase}, found ${describeValue(value)}${hint}` });
  };

  const list = /^Array<(.+)>$/.exec(type);
  if (list) {
    if (!Array.isArray(value)) return expected("a list");
    value.forEach((item, index) => checkValue(item, list[1] ?? "any", format, [...path, index], quantity, context));
    return;
  }
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (map) {
    if (!isRecord(value)) return expected(quantity ? "a mapping of resource names to quantities" : "a mapping");
    for (const [key, item] of Object.entries(value)) checkValue(item, map[1] ?? "any", format, [...path, key], quantity, context);
    return;
  }
  switch (type) {
    case "string":
      if (typeof value === "string" || (quantity && typeof value === "number")) return;
      return expected(
        quantity ? 'a quantity such as "500m" or "256Mi"' : "a string",
        typeof value === "number" || typeof value === "boolean" ? " (put it in quotes to make it a string)" : "",
      );
    case "Date":
      if (typeof value !== "string") expected("a date-time string");
      return;
    case "boolean":
      if (typeof value !== "boolean") expected("true or false");
      return;
    case "number":
      if (format === "int32" || format === "int64") {
        if (!Number.isInteger(value)) expected("a whole number");
      } else if (typeof value !== "number") expected("a number");
      return;
    case "IntOrString":
      if (typeof value !== "string" && !Number.isInteger(value)) expected("a whole number or a name");
      return;
    default: {
      const model = context.schema.model(type);
      if (model === undefined) return; // a type the client does not describe: nothing to check against
      if (!isRecord(value)) return expected("a mapping (field: value)");
      checkModel(value, model, path, context);
    }
  }
}

function checkModel(value: Record<string, unknown>, model: ModelSchema, path: Path, context: Context): void {
  const suggested = new Set<string>();
  for (const [key, item] of Object.entries(value)) {
    const field = model.fields.get(key);
    if (field === undefined) {
      const suggestion = closest(key, [...model.fields.keys()]);
      if (suggestion !== undefined) suggested.add(suggestion);
      context.problems.push({ path: [...path, key], message: unknownFieldMessage(key, suggestion, model, path, context.explainRoot), atKey: true });
      continue;
    }
    checkValue(item, field.type, field.format, [...path, key], QUANTITY_FIELDS.has(`${model.name}.${key}`), context);
  }
  for (const required of model.required) {
    // A misspelt required field is reported once, as the typo, not again as missing.
    if ((value[required] === undefined || value[required] === null) && !suggested.has(required)) {
      context.problems.push({ path: [...path, required], message: "required field is missing" });
    }
  }
}

function unknownFieldMessage(key: string, suggestion: string | undefined, model: ModelSchema, path: Path, explainRoot: string): string {
  if (suggestion !== undefined) return `unknown field, did you mean \`${suggestion}\`?`;
  const known = [...model.fields.keys()];
  if (known.length <= MAX_LISTED_FIELDS) return `unknown field; the fields allowed here are ${known.map((name) => `\`${name}\``).join(", ")}`;
  const explainPath = [explainRoot, ...path.filter((segment): segment is string => typeof segment === "string")].join(".");
  return `unknown field (\`kubectl explain ${explainPath}\` lists the fields allowed here)`;
}
