/**
 * Server-side apply and field ownership (sigs.k8s.io/structured-merge-diff, in miniature).
 *
 * Ownership is tracked per manager as a set of field paths in the FieldsV1 vocabulary:
 * `f:name` for a map field, `k:{"name":"model"}` for an item of an associative list (plus `.` for
 * owning the item's existence). Leaves are scalars, atomic lists and empty maps. That is enough
 * for what matters to callers: a no-op apply changes nothing, two appliers that set one field to
 * different values conflict (409) unless `force=true`, an applier that stops applying a field
 * removes it unless someone else owns it, and non-apply writes take over the fields they change.
 */
import { keyElement, listKeys } from "./schema.js";
import { strategicMergePatch } from "./patch.js";
import { ApiError, type StatusCause } from "./status.js";
import { isObject, nowIso, type JsonObject, type KObject, type ManagedFieldsEntry } from "./types.js";

export type FieldPath = string[];

/** A set of field paths (keyed by their JSON form). */
export class FieldSet {
  private readonly paths = new Map<string, FieldPath>();

  static of(paths: Iterable<FieldPath>): FieldSet {
    const s = new FieldSet();
    for (const p of paths) s.add(p);
    return s;
  }

  add(path: FieldPath): void {
    this.paths.set(JSON.stringify(path), path);
  }
  has(path: FieldPath): boolean {
    return this.paths.has(JSON.stringify(path));
  }
  delete(path: FieldPath): void {
    this.paths.delete(JSON.stringify(path));
  }
  get size(): number {
    return this.paths.size;
  }
  [Symbol.iterator](): IterableIterator<FieldPath> {
    return this.paths.values();
  }
  /** Whether any path starts with `prefix` (someone owns something inside it). */
  hasUnder(prefix: FieldPath): boolean {
    for (const p of this.paths.values()) if (prefix.every((el, i) => p[i] === el)) return true;
    return false;
  }
  equals(other: FieldSet): boolean {
    if (other.size !== this.size) return false;
    for (const p of this) if (!other.has(p)) return false;
    return true;
  }
}

/** Top-level and metadata fields that belong to the server, never to a manager. */
const SERVER_METADATA = new Set([
  "name",
  "namespace",
  "uid",
  "resourceVersion",
  "generation",
  "creationTimestamp",
  "deletionTimestamp",
  "deletionGracePeriodSeconds",
  "managedFields",
  "selfLink",
]);

export type Scope = "main" | "status";

/** The leaf paths an object (or an applied configuration) sets, within the main resource or status. */
export function extractFields(obj: KObject | JsonObject, kind: string, scope: Scope): FieldSet {
  const set = new FieldSet();
  const walk = (value: unknown, path: FieldPath, schemaPath: string[]): void => {
    if (isObject(value)) {
      const entries = Object.entries(value);
      if (entries.length === 0 && path.length > 0) set.add(path);
      for (const [k, v] of entries) walk(v, [...path, `f:${k}`], [...schemaPath, k]);
    } else if (Array.isArray(value)) {
      const keys = listKeys(kind, schemaPath);
      if (!keys) {
        set.add(path);
        return;
      }
      for (const item of value) {
        const el = keyElement(item, keys);
        set.add([...path, el, "."]);
        walk(item, [...path, el], schemaPath);
      }
    } else set.add(path);
  };
  for (const [k, v] of Object.entries(obj)) {
    if (k === "apiVersion" || k === "kind") continue;
    if ((k === "status") !== (scope === "status")) continue;
    if (k === "metadata" && isObject(v)) {
      for (const [mk, mv] of Object.entries(v)) if (!SERVER_METADATA.has(mk)) walk(mv, ["f:metadata", `f:${mk}`], ["metadata", mk]);
      continue;
    }
    walk(v, [`f:${k}`], [k]);
  }
  return set;
}

function matchesKey(item: unknown, element: string): boolean {
  const wanted = JSON.parse(element.slice(2)) as Record<string, unknown>;
  return Object.entries(wanted).every(([k, v]) => {
    const actual = isObject(item) ? item[k] : undefined;
    return (actual === undefined && k === "protocol" ? "TCP" : actual) === v;
  });
}

/** The value at a path, or `missing`. A trailing `.` yields the list item itself. */
export function valueAt(obj: unknown, path: FieldPath): { found: boolean; value?: unknown } {
  let node: unknown = obj;
  for (const el of path) {
    if (el === ".") return { found: true, value: node };
    if (el.startsWith("f:")) {
      if (!isObject(node) || !(el.slice(2) in node)) return { found: false };
      node = node[el.slice(2)];
    } else if (el.startsWith("k:")) {
      if (!Array.isArray(node)) return { found: false };
      const item = node.find((i) => matchesKey(i, el));
      if (item === undefined) return { found: false };
      node = item;
    } else return { found: false };
  }
  return { found: true, value: node };
}

/** Removes the field (or, for a `.` path, the list item) from a mutable object. */
export function removePath(obj: unknown, path: FieldPath): void {
  const isItem = path[path.length - 1] === ".";
  const target = isItem ? path.slice(0, -1) : path;
  const last = target[target.length - 1];
  if (last === undefined) return;
  const parent = valueAt(obj, target.slice(0, -1));
  if (!parent.found) return;
  if (last.startsWith("f:") && isObject(parent.value)) delete parent.value[last.slice(2)];
  else if (last.startsWith("k:") && Array.isArray(parent.value)) {
    const index = parent.value.findIndex((i) => matchesKey(i, last));
    if (index >= 0) parent.value.splice(index, 1);
  }
}

/**
 * The maps above a removed field that nobody owns anything in any more go too, with what
 * defaulting put there: a real manager owns a map itself (FieldsV1's ".") along with its fields,
 * so a probe no longer applied disappears whole instead of leaving `livenessProbe: { httpGet:
 * { scheme: HTTP } }` behind, which validation then rejects for its missing port.
 */
function removeUnownedMaps(obj: unknown, removed: FieldPath, applied: FieldSet, others: readonly OwnedEntry[]): void {
  for (let end = removed.length - 1; end >= 1; end--) {
    const parent = removed.slice(0, end);
    if (!parent[parent.length - 1]?.startsWith("f:")) return;
    if (applied.hasUnder(parent) || others.some((o) => o.set.hasUnder(parent))) return;
    removePath(obj, parent);
  }
}

export function toFieldsV1(set: FieldSet): JsonObject {
  const root: JsonObject = {};
  const sorted = [...set].sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
  for (const path of sorted) {
    let node = root;
    for (const el of path) {
      if (!isObject(node[el])) node[el] = {};
      node = node[el] as JsonObject;
    }
  }
  return root;
}

export function fromFieldsV1(fields: unknown): FieldSet {
  const set = new FieldSet();
  const walk = (node: unknown, path: FieldPath): void => {
    if (!isObject(node)) return;
    const entries = Object.entries(node);
    if (entries.length === 0 && path.length > 0) set.add(path);
    for (const [k, v] of entries) walk(v, [...path, k]);
  };
  walk(fields, []);
  return set;
}

/** `.spec.template.spec.containers[name="model"].image`, as conflict messages print paths. */
export function pathString(path: FieldPath): string {
  let out = "";
  for (const el of path) {
    if (el === ".") continue;
    if (el.startsWith("f:")) out += `.${el.slice(2)}`;
    else if (el.startsWith("k:")) {
      const keys = JSON.parse(el.slice(2)) as Record<string, unknown>;
      out += `[${Object.entries(keys)
        .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
        .join(",")}]`;
    }
  }
  return out;
}

function sameValue(a: { found: boolean; value?: unknown }, b: { found: boolean; value?: unknown }, itemOnly: boolean): boolean {
  if (a.found !== b.found) return false;
  if (itemOnly) return true;
  return JSON.stringify(a.value) === JSON.stringify(b.value);
}

interface OwnedEntry {
  entry: ManagedFieldsEntry;
  set: FieldSet;
}

function entriesOf(obj: KObject | undefined): OwnedEntry[] {
  return (obj?.metadata.managedFields ?? []).map((entry) => ({ entry: { ...entry }, set: fromFieldsV1(entry.fieldsV1) }));
}

function sameSlot(e: ManagedFieldsEntry, manager: string, operation: string, subresource: string | undefined): boolean {
  return e.manager === manager && e.operation === operation && (e.subresource ?? "") === (subresource ?? "");
}

function render(entries: OwnedEntry[]): ManagedFieldsEntry[] {
  return entries
    .filter((e) => e.set.size > 0)
    .map(({ entry, set }) => {
      const out: ManagedFieldsEntry = {
        manager: entry.manager,
        operation: entry.operation,
        apiVersion: entry.apiVersion,
        time: entry.time,
        fieldsType: "FieldsV1",
        fieldsV1: toFieldsV1(set),
      };
      if (entry.subresource) out.subresource = entry.subresource;
      return out;
    });
}

function upsert(
  entries: OwnedEntry[],
  manager: string,
  operation: "Apply" | "Update",
  apiVersion: string,
  subresource: string | undefined,
  set: FieldSet,
): void {
  const existing = entries.find((e) => sameSlot(e.entry, manager, operation, subresource));
  if (existing) {
    if (!existing.set.equals(set) || existing.entry.apiVersion !== apiVersion) {
      existing.entry.time = nowIso();
      existing.entry.apiVersion = apiVersion;
    }
    existing.set = set;
    return;
  }
  const entry: ManagedFieldsEntry = { manager, operation, apiVersion, time: nowIso(), fieldsType: "FieldsV1", fieldsV1: {} };
  if (subresource) entry.subresource = subresource;
  entries.push({ entry, set });
}

/**
 * Ownership after a non-apply write (create, update, patch): the writer takes every field it
 * changed (from whoever owned it, without conflict), and fields it removed leave every set.
 */
export function recordUpdate(old: KObject | undefined, updated: KObject, manager: string, scope: Scope): ManagedFieldsEntry[] {
  const kind = updated.kind ?? "";
  const entries = entriesOf(old);
  const before = old ? extractFields(old, kind, scope) : new FieldSet();
  const after = extractFields(updated, kind, scope);
  const changed: FieldPath[] = [];
  for (const p of after) {
    const itemOnly = p[p.length - 1] === ".";
    if (!before.has(p) || !sameValue(valueAt(old, p), valueAt(updated, p), itemOnly)) changed.push(p);
  }
  const removed = [...before].filter((p) => !after.has(p));
  if (changed.length === 0 && removed.length === 0) return old?.metadata.managedFields ? [...old.metadata.managedFields] : [];
  for (const e of entries) {
    for (const p of changed) e.set.delete(p);
    for (const p of removed) e.set.delete(p);
  }
  const subresource = scope === "status" ? "status" : undefined;
  const mine = entries.find((e) => sameSlot(e.entry, manager, "Update", subresource));
  const set = FieldSet.of([...(mine?.set ?? []), ...changed]);
  upsert(entries, manager, "Update", updated.apiVersion ?? "", subresource, set);
  return render(entries);
}

export interface ApplyResult {
  object: KObject;
  managedFields: ManagedFieldsEntry[];
}

/**
 * Merges an applied configuration into the live object (undefined when the apply creates it).
 * `finish` defaults the merged object, as the registry would, before conflicts are computed, so
 * defaulted values never count as changes.
 */
export function applyConfiguration(
  live: KObject | undefined,
  applied: KObject,
  manager: string,
  force: boolean,
  finish: (merged: KObject) => KObject,
): ApplyResult {
  const kind = applied.kind ?? "";
  const apiVersion = applied.apiVersion ?? "";
  const config = structuredClone(applied);
  delete config.status;
  const appliedSet = extractFields(config, kind, "main");
  const entries = entriesOf(live);
  const mine = entries.find((e) => sameSlot(e.entry, manager, "Apply", undefined));
  const others = entries.filter((e) => e !== mine);

  let merged = (live ? structuredClone(live) : { metadata: {} }) as KObject;
  // Fields this manager applied before and no longer applies are removed, unless someone else owns them.
  for (const p of mine?.set ?? []) {
    if (appliedSet.has(p)) continue;
    const isItem = p[p.length - 1] === ".";
    const ownedElsewhere = others.some((o) => (isItem ? o.set.hasUnder(p.slice(0, -1)) : o.set.has(p)));
    if (!ownedElsewhere) {
      removePath(merged, p);
      removeUnownedMaps(merged, isItem ? p.slice(0, -1) : p, appliedSet, others);
    }
  }
  const { status: _status, ...configWithoutStatus } = config;
  merged = strategicMergePatch(merged, configWithoutStatus, kind) as KObject;
  if (live && "status" in live) merged.status = structuredClone(live.status);
  else delete merged.status;
  merged = finish(merged);

  // Conflicts: fields this apply would change that another manager owns.
  const conflicts: { path: FieldPath; owner: ManagedFieldsEntry }[] = [];
  for (const p of appliedSet) {
    const itemOnly = p[p.length - 1] === ".";
    if (sameValue(valueAt(live, p), valueAt(merged, p), itemOnly)) continue;
    for (const o of others) if (o.set.has(p)) conflicts.push({ path: p, owner: o.entry });
  }
  if (conflicts.length && !force) throw conflictError(conflicts);
  for (const { path } of conflicts) for (const o of others) o.set.delete(path);
  upsert(entries, manager, "Apply", apiVersion, undefined, appliedSet);
  return { object: merged, managedFields: render(entries) };
}

function conflictError(conflicts: { path: FieldPath; owner: ManagedFieldsEntry }[]): ApiError {
  const byOwner = new Map<string, string[]>();
  const causes: StatusCause[] = [];
  for (const { path, owner } of conflicts) {
    const who = `"${owner.manager}" using ${owner.apiVersion}`;
    const list = byOwner.get(who) ?? [];
    list.push(pathString(path));
    byOwner.set(who, list);
    causes.push({ reason: "FieldManagerConflict", message: `conflict with ${who}`, field: pathString(path) });
  }
  const n = conflicts.length;
  let message = `Apply failed with ${n} conflict${n === 1 ? "" : "s"}: `;
  if (n === 1) {
    const [[who, paths]] = [...byOwner.entries()] as [[string, string[]]];
    message += `conflict with ${who}: ${paths[0]}`;
  } else {
    message += [...byOwner.entries()].map(([who, paths]) => `conflicts with ${who}:\n${paths.map((p) => `- ${p}`).join("\n")}`).join("\n");
  }
  return new ApiError(409, "Conflict", message, { causes });
}
