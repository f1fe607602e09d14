/** Validation shared by every kind: names, labels, annotations (apimachinery's ValidateObjectMeta). */
import { DNS1035_LABEL, DNS1035_LABEL_MESSAGE, DNS1123_LABEL, DNS1123_LABEL_MESSAGE, DNS1123_SUBDOMAIN, DNS1123_SUBDOMAIN_MESSAGE } from "../names.js";
import type { FieldError } from "../status.js";
import type { KObject } from "../types.js";

/** "path": RBAC names, only required to be a path segment (apimachinery's IsValidPathSegmentName). */
export type NameRule = "subdomain" | "label" | "dns1035" | "path";

const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const QUALIFIED_NAME_MESSAGE =
  "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const LABEL_VALUE_MESSAGE =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";

export function required(field: string, detail = ""): FieldError {
  return { type: "FieldValueRequired", field, detail };
}
export function invalidValue(field: string, value: unknown, detail: string): FieldError {
  return { type: "FieldValueInvalid", field, value, detail };
}
export function notSupported(field: string, value: unknown, supported: string[]): FieldError {
  return { type: "FieldValueNotSupported", field, value, detail: `supported values: ${supported.map((s) => JSON.stringify(s)).join(", ")}` };
}
export function forbidden(field: string, detail: string): FieldError {
  return { type: "FieldValueForbidden", field, detail };
}
export function duplicate(field: string, value: unknown): FieldError {
  return { type: "FieldValueDuplicate", field, value, detail: "" };
}

export function nameErrors(field: string, name: string, rule: NameRule): FieldError[] {
  if (rule === "path") {
    if (name === "." || name === "..") return [invalidValue(field, name, `may not be '${name}'`)];
    return ["/", "%"].filter((c) => name.includes(c)).map((c) => invalidValue(field, name, `may not contain '${c}'`));
  }
  const [re, message, max] =
    rule === "label"
      ? [DNS1123_LABEL, DNS1123_LABEL_MESSAGE, 63]
      : rule === "dns1035"
        ? [DNS1035_LABEL, DNS1035_LABEL_MESSAGE, 63]
        : [DNS1123_SUBDOMAIN, DNS1123_SUBDOMAIN_MESSAGE, 253];
  const errors: FieldError[] = [];
  if (name.length > max) errors.push(invalidValue(field, name, `must be no more than ${max} characters`));
  if (!re.test(name)) errors.push(invalidValue(field, name, message));
  return errors;
}

export function qualifiedNameErrors(field: string, key: string): FieldError[] {
  const slash = key.lastIndexOf("/");
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  const errors: FieldError[] = [];
  if (prefix !== undefined && !DNS1123_SUBDOMAIN.test(prefix)) errors.push(invalidValue(field, key, `prefix part ${DNS1123_SUBDOMAIN_MESSAGE}`));
  if (name.length === 0) errors.push(invalidValue(field, key, "name part must be non-empty"));
  else if (name.length > 63) errors.push(invalidValue(field, key, "name part must be no more than 63 characters"));
  else if (!QUALIFIED_NAME.test(name)) errors.push(invalidValue(field, key, QUALIFIED_NAME_MESSAGE));
  return errors;
}

export function labelErrors(field: string, labels: Record<string, string> | undefined): FieldError[] {
  const errors: FieldError[] = [];
  for (const [key, value] of Object.entries(labels ?? {})) {
    errors.push(...qualifiedNameErrors(field, key));
    if (typeof value !== "string") errors.push(invalidValue(`${field}`, value, "must be a string"));
    else if (value.length > 63) errors.push(invalidValue(field, value, "must be no more than 63 characters"));
    else if (!LABEL_VALUE.test(value)) errors.push(invalidValue(field, value, LABEL_VALUE_MESSAGE));
  }
  return errors;
}

export function objectMetaErrors(obj: KObject, rule: NameRule): FieldError[] {
  const errors: FieldError[] = [];
  const name = obj.metadata.name;
  if (!name) errors.push(required("metadata.name", "name or generateName is required"));
  else errors.push(...nameErrors("metadata.name", name, rule));
  errors.push(...labelErrors("metadata.labels", obj.metadata.labels));
  for (const key of Object.keys(obj.metadata.annotations ?? {})) errors.push(...qualifiedNameErrors("metadata.annotations", key));
  const annotationBytes = Object.entries(obj.metadata.annotations ?? {}).reduce((n, [k, v]) => n + k.length + String(v).length, 0);
  if (annotationBytes > 256 * 1024) errors.push({ type: "FieldValueTooLong", field: "metadata.annotations", detail: "may not be more than 262144 bytes" });
  return errors;
}

/** Go renders an immutable-field violation with the whole value; a JSON rendering is close enough. */
export function immutable(field: string, value: unknown): FieldError {
  return { type: "FieldValueInvalid", field, value, rendered: typeof value === "object" ? JSON.stringify(value) : undefined, detail: "field is immutable" };
}
