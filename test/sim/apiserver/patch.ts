/**
 * The three non-apply patch formats: JSON patch (RFC 6902, the default content type of
 * @kubernetes/client-node 1.x), JSON merge patch (RFC 7386) and strategic merge patch (merge patch
 * where associative lists such as containers merge by key, plus the `$patch` directive).
 */
import { listKeys, keyElement } from "./schema.js";
import { ApiError } from "./status.js";
import { clone, isObject, type JsonObject } from "./types.js";

export const PATCH_TYPES = {
  json: "application/json-patch+json",
  merge: "application/merge-patch+json",
  strategic: "application/strategic-merge-patch+json",
  apply: "application/apply-patch+yaml",
} as const;

function patchError(message: string): ApiError {
  return new ApiError(422, "Invalid", message);
}

export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return clone(patch);
  const result: JsonObject = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key], value);
  }
  return result;
}

export function strategicMergePatch(target: unknown, patch: unknown, kind: string, path: string[] = []): unknown {
  if (!isObject(patch)) return clone(patch);
  if (patch.$patch === "replace") {
    const { $patch: _directive, ...rest } = patch;
    return clone(rest);
  }
  const result: JsonObject = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    // kubectl's ordering and retain-keys directives only affect order and pruning details.
    if (key.startsWith("$")) continue;
    if (value === null) {
      delete result[key];
      continue;
    }
    const keys = listKeys(kind, [...path, key]);
    if (Array.isArray(value) && keys && Array.isArray(result[key])) {
      result[key] = mergeKeyedList(result[key] as unknown[], value, keys, kind, [...path, key]);
    } else if (Array.isArray(value)) {
      result[key] = value
        .filter((item) => !(isObject(item) && item.$patch === "delete"))
        .map((item) => strategicMergePatch(undefined, item, kind, [...path, key]));
    } else if (isObject(value)) {
      result[key] = strategicMergePatch(result[key], value, kind, [...path, key]);
    } else result[key] = value;
  }
  return result;
}

function mergeKeyedList(live: unknown[], patch: unknown[], keys: string[], kind: string, path: string[]): unknown[] {
  const result = [...live];
  for (const item of patch) {
    const k = keyElement(item, keys);
    const index = result.findIndex((l) => keyElement(l, keys) === k);
    if (isObject(item) && item.$patch === "delete") {
      if (index >= 0) result.splice(index, 1);
      continue;
    }
    if (index >= 0) result[index] = strategicMergePatch(result[index], item, kind, path);
    else result.push(strategicMergePatch(undefined, item, kind, path));
  }
  return result;
}

interface JsonPatchOp {
  op: string;
  path: string;
  from?: string;
  value?: unknown;
}

function pointer(path: string): string[] {
  if (path === "") return [];
  if (!path.startsWith("/")) throw patchError(`invalid JSON pointer: ${path}`);
  return path
    .slice(1)
    .split("/")
    .map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~"));
}

function parentOf(doc: unknown, parts: string[], path: string): { parent: JsonObject | unknown[]; last: string } {
  let node: unknown = doc;
  for (const part of parts.slice(0, -1)) {
    if (Array.isArray(node)) node = node[Number(part)];
    else if (isObject(node)) node = node[part];
    else node = undefined;
    if (node === undefined) throw patchError(`jsonpatch: the path "${path}" does not exist`);
  }
  if (!Array.isArray(node) && !isObject(node)) throw patchError(`jsonpatch: the path "${path}" does not exist`);
  return { parent: node, last: parts[parts.length - 1] ?? "" };
}

function getPointer(doc: unknown, path: string): unknown {
  let node: unknown = doc;
  for (const part of pointer(path)) {
    if (Array.isArray(node)) node = node[Number(part)];
    else if (isObject(node)) node = node[part];
    else return undefined;
  }
  return node;
}

function addAt(doc: unknown, path: string, value: unknown, replace: boolean): unknown {
  const parts = pointer(path);
  if (parts.length === 0) return clone(value);
  const { parent, last } = parentOf(doc, parts, path);
  if (Array.isArray(parent)) {
    const index = last === "-" ? parent.length : Number(last);
    if (!Number.isInteger(index) || index < 0 || index > parent.length) throw patchError(`jsonpatch: index out of bounds: ${path}`);
    if (replace) {
      if (index >= parent.length) throw patchError(`jsonpatch: the path "${path}" does not exist`);
      parent[index] = clone(value);
    } else parent.splice(index, 0, clone(value));
  } else {
    if (replace && !(last in parent)) throw patchError(`jsonpatch: replace operation does not apply: doc is missing key: ${path}`);
    parent[last] = clone(value);
  }
  return doc;
}

function removeAt(doc: unknown, path: string): unknown {
  const parts = pointer(path);
  const { parent, last } = parentOf(doc, parts, path);
  if (Array.isArray(parent)) {
    const index = Number(last);
    if (!Number.isInteger(index) || index < 0 || index >= parent.length)
      throw patchError(`jsonpatch: remove operation does not apply: doc is missing path: "${path}"`);
    parent.splice(index, 1);
  } else {
    if (!(last in parent)) throw patchError(`jsonpatch: remove operation does not apply: doc is missing path: "${path}"`);
    delete parent[last];
  }
  return doc;
}

export function jsonPatch(target: unknown, ops: unknown): unknown {
  if (!Array.isArray(ops)) throw new ApiError(400, "BadRequest", "json: cannot unmarshal object into Go value of type jsonpatch.Patch");
  let doc = clone(target);
  for (const raw of ops as JsonPatchOp[]) {
    if (!isObject(raw) || typeof raw.op !== "string" || typeof raw.path !== "string") throw patchError("jsonpatch: invalid operation");
    switch (raw.op) {
      case "add":
        doc = addAt(doc, raw.path, raw.value, false);
        break;
      case "replace":
        doc = addAt(doc, raw.path, raw.value, true);
        break;
      case "remove":
        doc = removeAt(doc, raw.path);
        break;
      case "move": {
        const value = getPointer(doc, raw.from ?? "");
        doc = removeAt(doc, raw.from ?? "");
        doc = addAt(doc, raw.path, value, false);
        break;
      }
      case "copy":
        doc = addAt(doc, raw.path, getPointer(doc, raw.from ?? ""), false);
        break;
      case "test":
        if (JSON.stringify(getPointer(doc, raw.path)) !== JSON.stringify(raw.value))
          throw patchError(`jsonpatch: testing value ${raw.path} failed: test failed`);
        break;
      default:
        throw patchError(`jsonpatch: unexpected kind of operation: ${raw.op}`);
    }
  }
  return doc;
}
