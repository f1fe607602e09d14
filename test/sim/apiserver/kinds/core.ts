/** The simpler core/v1 kinds: Namespace, ConfigMap, Secret, Event, Node, Endpoints. */
import type { FieldError } from "../status.js";
import { isObject, type KObject } from "../types.js";
import { invalidValue, required } from "./meta.js";

const CONFIG_KEY = /^[-._a-zA-Z0-9]+$/;
const CONFIG_KEY_MESSAGE =
  "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')";
const MAX_CONFIG_BYTES = 1024 * 1024;

export function defaultNamespace(ns: KObject): void {
  const name = ns.metadata.name ?? "";
  ns.metadata.labels = { ...(ns.metadata.labels ?? {}), "kubernetes.io/metadata.name": name };
  ns.spec = { finalizers: ["kubernetes"] };
  if (!isObject(ns.status) || !ns.status.phase) ns.status = { phase: "Active" };
}

function dataErrors(obj: KObject, fields: string[], kind: string): FieldError[] {
  const errors: FieldError[] = [];
  let bytes = 0;
  const seen = new Set<string>();
  for (const field of fields) {
    const data = obj[field];
    if (data === undefined || data === null) continue;
    if (!isObject(data)) {
      errors.push(invalidValue(field, data, "must be a map"));
      continue;
    }
    for (const [key, value] of Object.entries(data)) {
      if (!CONFIG_KEY.test(key)) errors.push(invalidValue(`${field}[${key}]`, key, CONFIG_KEY_MESSAGE));
      if (seen.has(key)) errors.push(invalidValue(`${field}[${key}]`, key, `duplicate of key present in ${fields.find((f) => f !== field)}`));
      seen.add(key);
      bytes += key.length + String(value).length;
    }
  }
  if (bytes > MAX_CONFIG_BYTES) errors.push({ type: "FieldValueTooLong", field: "", detail: `must have at most ${MAX_CONFIG_BYTES} bytes` });
  if (kind === "Secret" && isObject(obj.data)) {
    for (const [key, value] of Object.entries(obj.data)) {
      if (typeof value !== "string" || !/^[A-Za-z0-9+/]*={0,2}$/.test(value)) errors.push(invalidValue(`data[${key}]`, value, "illegal base64 data"));
    }
  }
  return errors;
}

export function validateConfigMap(cm: KObject): FieldError[] {
  return dataErrors(cm, ["data", "binaryData"], "ConfigMap");
}

/** stringData is write-only: the apiserver folds it into base64 data before storing. */
export function defaultSecret(secret: KObject): void {
  secret.type ??= "Opaque";
  if (isObject(secret.stringData)) {
    const data = isObject(secret.data) ? { ...secret.data } : {};
    for (const [key, value] of Object.entries(secret.stringData)) data[key] = Buffer.from(String(value), "utf8").toString("base64");
    secret.data = data;
    delete secret.stringData;
  }
}

export function validateSecret(secret: KObject): FieldError[] {
  return dataErrors(secret, ["data"], "Secret");
}

export function validateEvent(event: KObject): FieldError[] {
  const errors: FieldError[] = [];
  if (!isObject(event.involvedObject)) errors.push(required("involvedObject"));
  else if (event.involvedObject.namespace && event.involvedObject.namespace !== event.metadata.namespace) {
    errors.push(invalidValue("involvedObject.namespace", event.involvedObject.namespace, "does not match event.namespace"));
  }
  return errors;
}
