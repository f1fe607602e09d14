/**
 * The generic registry: create, read, update, patch, apply and delete for every resource in the
 * table, with the rules the real apiserver applies around each write (defaulting, validation,
 * inline allocation, generation, resourceVersion preconditions, status subresources, managed
 * fields, graceful deletion and finalizers). The HTTP layer and the in-process controllers both
 * write through here, so an object a controller writes is held to the same rules as one a client
 * writes. Every method is synchronous: a read-modify-write can never interleave with another.
 */
import { applyConfiguration, recordUpdate, type Scope } from "./apply.js";
import { randomSuffix, newUid } from "./names.js";
import { jsonPatch, mergePatch, PATCH_TYPES, strategicMergePatch } from "./patch.js";
import { objectMetaErrors } from "./kinds/meta.js";
import { apiVersionOf, R, storeKey, type ResourceDef } from "./resources.js";
import { matchesRequirements, parseFieldSelector, parseLabelSelector } from "./selectors.js";
import { ApiError, alreadyExists, badRequest, conflict, invalid, MODIFIED, notFound, unsupportedMediaType } from "./status.js";
import type { Store } from "./store.js";
import { clone, isObject, nowIso, type KObject } from "./types.js";

export interface WriteOptions {
  manager: string;
  dryRun?: boolean;
}

export interface DeleteOptions {
  gracePeriodSeconds?: number;
  propagationPolicy?: "Orphan" | "Background" | "Foreground";
  preconditions?: { uid?: string; resourceVersion?: string };
  dryRun?: boolean;
}

export interface ListOptions {
  labelSelector?: string;
  fieldSelector?: string;
}

/** Fields each resource can be selected by, beyond metadata.name and metadata.namespace. */
const FIELD_SELECTORS: Record<string, string[]> = {
  pods: [
    "spec.nodeName",
    "spec.restartPolicy",
    "spec.schedulerName",
    "spec.serviceAccountName",
    "spec.hostNetwork",
    "status.phase",
    "status.podIP",
    "status.nominatedNodeName",
  ],
  events: [
    "involvedObject.kind",
    "involvedObject.namespace",
    "involvedObject.name",
    "involvedObject.uid",
    "involvedObject.apiVersion",
    "involvedObject.resourceVersion",
    "involvedObject.fieldPath",
    "reason",
    "reportingComponent",
    "source",
    "type",
  ],
  namespaces: ["status.phase"],
  nodes: ["spec.unschedulable"],
  secrets: ["type"],
  "replicasets.apps": ["status.replicas"],
};

function fieldValue(obj: KObject, field: string): string {
  if (field === "source") return String((obj.source as { component?: string } | undefined)?.component ?? "");
  let node: unknown = obj;
  for (const part of field.split(".")) node = isObject(node) ? node[part] : undefined;
  if (node === undefined || node === null) return field === "spec.hostNetwork" || field === "spec.unschedulable" ? "false" : "";
  return String(node);
}

export function matchesSelectors(r: ResourceDef, obj: KObject, options: ListOptions): boolean {
  const labels = parseLabelSelector(options.labelSelector);
  if (!matchesRequirements(labels, obj.metadata.labels)) return false;
  for (const req of parseFieldSelector(options.fieldSelector)) {
    const supported = ["metadata.name", "metadata.namespace", ...(FIELD_SELECTORS[storeKey(r)] ?? [])];
    if (!supported.includes(req.field)) throw badRequest(`field label not supported: ${req.field}`);
    const value = fieldValue(obj, req.field);
    if (req.op === "=" ? value !== req.value : value === req.value) return false;
  }
  return true;
}

/** Checks a selector string up front, so a bad selector fails even when nothing is there to match. */
export function validateSelectors(r: ResourceDef, options: ListOptions): void {
  parseLabelSelector(options.labelSelector);
  const supported = ["metadata.name", "metadata.namespace", ...(FIELD_SELECTORS[storeKey(r)] ?? [])];
  for (const req of parseFieldSelector(options.fieldSelector)) if (!supported.includes(req.field)) throw badRequest(`field label not supported: ${req.field}`);
}

function stripForCompare(obj: KObject): unknown {
  const copy = clone(obj);
  delete copy.metadata.resourceVersion;
  delete copy.metadata.managedFields;
  return copy;
}

export class Registry {
  constructor(readonly store: Store) {}

  get(r: ResourceDef, namespace: string | undefined, name: string): KObject {
    const obj = this.store.get(storeKey(r), r.namespaced ? namespace : undefined, name);
    if (!obj) throw notFound(r, name);
    return obj;
  }

  tryGet(r: ResourceDef, namespace: string | undefined, name: string): KObject | undefined {
    return this.store.get(storeKey(r), r.namespaced ? namespace : undefined, name);
  }

  list(r: ResourceDef, namespace: string | undefined, options: ListOptions = {}): KObject[] {
    validateSelectors(r, options);
    return this.store.list(storeKey(r), r.namespaced ? namespace : undefined).filter((o) => matchesSelectors(r, o, options));
  }

  private checkNamespace(r: ResourceDef, namespace: string | undefined, name: string): void {
    if (!r.namespaced) return;
    if (!namespace) throw badRequest("the server could not find the requested resource");
    const ns = this.store.get(storeKey(R.namespaces), undefined, namespace);
    if (!ns) throw notFound(R.namespaces, namespace);
    if (ns.metadata.deletionTimestamp) {
      throw new ApiError(
        403,
        "Forbidden",
        `${r.plural} "${name}" is forbidden: unable to create new content in namespace ${namespace} because it is being terminated`,
        {
          kind: r.plural,
          causes: [{ reason: "NamespaceTerminating", message: `namespace ${namespace} is being terminated`, field: "metadata.namespace" }],
        },
      );
    }
  }

  /** The request body as an object of this resource, with the checks that answer 400. */
  private normalizeBody(r: ResourceDef, namespace: string | undefined, body: unknown, nameInUrl?: string): KObject {
    if (!isObject(body)) throw badRequest("Object 'Kind' is missing in 'null'");
    const obj = clone(body) as KObject;
    if (obj.kind !== undefined && obj.kind !== r.kind) {
      throw badRequest(`the API version in the data (${String(obj.apiVersion)}) does not match the expected API version (${apiVersionOf(r)})`);
    }
    if (obj.apiVersion !== undefined && obj.apiVersion !== apiVersionOf(r)) {
      throw badRequest(`the API version in the data (${String(obj.apiVersion)}) does not match the expected API version (${apiVersionOf(r)})`);
    }
    obj.apiVersion = apiVersionOf(r);
    obj.kind = r.kind;
    if (!isObject(obj.metadata)) obj.metadata = {};
    if (r.namespaced) {
      if (obj.metadata.namespace && namespace && obj.metadata.namespace !== namespace) {
        throw badRequest("the namespace of the provided object does not match the namespace sent on the request");
      }
      obj.metadata.namespace = namespace;
    } else delete obj.metadata.namespace;
    if (nameInUrl !== undefined) {
      if (obj.metadata.name && obj.metadata.name !== nameInUrl) {
        throw badRequest(`the name of the object (${obj.metadata.name}) does not match the name on the URL (${nameInUrl})`);
      }
      obj.metadata.name = nameInUrl;
    }
    return obj;
  }

  /** Defaulting, validation and allocation, shared by every write of the main resource. */
  private prepare(r: ResourceDef, obj: KObject, old: KObject | undefined): KObject {
    r.defaults?.(obj);
    const errors = [...objectMetaErrors(obj, r.nameRule), ...(r.validate?.(obj, old) ?? [])];
    if (errors.length) throw invalid(r.kind, r.group, obj.metadata.name ?? "", errors);
    if (r.allocate) {
      const others = this.store.list(storeKey(r)).filter((o) => o.metadata.uid !== obj.metadata.uid);
      const allocationErrors = r.allocate(obj, old, others);
      if (allocationErrors.length) throw invalid(r.kind, r.group, obj.metadata.name ?? "", allocationErrors);
    }
    return obj;
  }

  create(r: ResourceDef, namespace: string | undefined, body: unknown, options: WriteOptions): KObject {
    const obj = this.normalizeBody(r, namespace, body);
    const meta = obj.metadata;
    if (!meta.name && meta.generateName) meta.name = `${meta.generateName}${randomSuffix()}`;
    this.checkNamespace(r, namespace, meta.name ?? "");
    if (meta.name && this.tryGet(r, namespace, meta.name)) throw alreadyExists(r, meta.name);
    return this.insert(r, obj, options);
  }

  private insert(r: ResourceDef, obj: KObject, options: WriteOptions): KObject {
    const meta = obj.metadata;
    for (const serverField of ["resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds", "managedFields"] as const) delete meta[serverField];
    meta.uid = newUid();
    meta.creationTimestamp = nowIso();
    if (r.bumpsGeneration) meta.generation = 1;
    else delete meta.generation;
    // Status is the controllers' to write: a created object starts with an empty one.
    if (r.statusSubresource && r !== R.namespaces && r !== R.nodes) delete obj.status;
    this.prepare(r, obj, undefined);
    obj.metadata.managedFields = recordUpdate(undefined, obj, options.manager, "main");
    if (obj.status !== undefined && r.statusSubresource) {
      const withStatus = recordUpdate(undefined, obj, options.manager, "status");
      if (withStatus.length) obj.metadata.managedFields = [...obj.metadata.managedFields, ...withStatus];
    }
    if (options.dryRun) return obj;
    return this.store.create(storeKey(r), obj);
  }

  update(r: ResourceDef, namespace: string | undefined, name: string, body: unknown, options: WriteOptions, scope: Scope = "main"): KObject {
    const obj = this.normalizeBody(r, namespace, body, name);
    const old = this.tryGet(r, namespace, name);
    if (!old) {
      // PUT to a missing object creates it for kinds that allow create-on-update; none here do.
      throw notFound(r, name);
    }
    const rv = obj.metadata.resourceVersion;
    if (rv && rv !== old.metadata.resourceVersion) throw conflict(r, name, MODIFIED);
    if (obj.metadata.uid && obj.metadata.uid !== old.metadata.uid) {
      throw conflict(r, name, `Precondition failed: UID in precondition: ${obj.metadata.uid}, UID in object meta: ${old.metadata.uid}`);
    }
    return this.commit(r, old, obj, options, scope);
  }

  /**
   * Writes a new version of an existing object. For the main resource the status is kept from the
   * old object (when the kind has a status subresource); for `status` only the status is taken.
   */
  commit(r: ResourceDef, old: KObject, next: KObject, options: WriteOptions, scope: Scope, managedFields?: KObject["metadata"]["managedFields"]): KObject {
    let obj: KObject;
    if (scope === "status") {
      obj = clone(old);
      obj.status = clone(next.status);
      // Labels and annotations may ride along with a status write, as the real status strategy allows.
      if (next.metadata.labels) obj.metadata.labels = clone(next.metadata.labels);
      if (next.metadata.annotations) obj.metadata.annotations = clone(next.metadata.annotations);
    } else {
      obj = next;
      if (r.statusSubresource) {
        if (old.status === undefined) delete obj.status;
        else obj.status = clone(old.status);
      }
      const meta = obj.metadata;
      meta.uid = old.metadata.uid;
      meta.creationTimestamp = old.metadata.creationTimestamp;
      meta.name = old.metadata.name;
      if (old.metadata.deletionTimestamp) {
        meta.deletionTimestamp = old.metadata.deletionTimestamp;
        if (old.metadata.deletionGracePeriodSeconds !== undefined) meta.deletionGracePeriodSeconds = old.metadata.deletionGracePeriodSeconds;
      } else {
        delete meta.deletionTimestamp;
        delete meta.deletionGracePeriodSeconds;
      }
      meta.generation = old.metadata.generation;
      if (meta.generation === undefined) delete meta.generation;
      this.prepare(r, obj, old);
      if (r.bumpsGeneration && JSON.stringify(obj.spec) !== JSON.stringify(old.spec)) meta.generation = (old.metadata.generation ?? 0) + 1;
    }
    obj.metadata.resourceVersion = old.metadata.resourceVersion;
    obj.metadata.managedFields = managedFields ?? recordUpdate(old, obj, options.manager, scope);
    // A write that changes nothing is not a write: no new resourceVersion, no watch event.
    if (
      JSON.stringify(stripForCompare(obj)) === JSON.stringify(stripForCompare(old)) &&
      JSON.stringify(obj.metadata.managedFields ?? []) === JSON.stringify(old.metadata.managedFields ?? [])
    ) {
      return old;
    }
    if (options.dryRun) return obj;
    if (obj.metadata.deletionTimestamp && !(obj.metadata.finalizers ?? []).length && (r !== R.pods || obj.metadata.deletionGracePeriodSeconds === 0)) {
      // The last finalizer is gone: the object goes.
      return this.store.delete(storeKey(r), obj.metadata.namespace, obj.metadata.name ?? "") ?? obj;
    }
    return this.store.update(storeKey(r), obj);
  }

  /** PATCH in any of the four formats; apply may create. Returns whether it created. */
  patch(
    r: ResourceDef,
    namespace: string | undefined,
    name: string,
    contentType: string,
    rawBody: unknown,
    options: WriteOptions & { force?: boolean; fieldManagerGiven: boolean },
    scope: Scope = "main",
  ): { object: KObject; created: boolean } {
    const type = contentType.split(";")[0]?.trim().toLowerCase() ?? "";
    const accepted = [PATCH_TYPES.json, PATCH_TYPES.merge, PATCH_TYPES.apply, PATCH_TYPES.strategic];
    if (!accepted.includes(type as (typeof accepted)[number])) throw unsupportedMediaType(type, accepted);
    if (type !== PATCH_TYPES.apply && options.force) {
      throw new ApiError(422, "Invalid", `PatchOptions.meta.k8s.io "" is invalid: force: Forbidden: may not be specified for non-apply patch`, {
        group: "meta.k8s.io",
        kind: "PatchOptions",
        causes: [{ reason: "FieldValueForbidden", message: "Forbidden: may not be specified for non-apply patch", field: "force" }],
      });
    }
    if (type === PATCH_TYPES.apply) return this.apply(r, namespace, name, rawBody, options, scope);
    const old = this.get(r, namespace, name);
    let patched: unknown;
    if (type === PATCH_TYPES.json) patched = jsonPatch(old, rawBody);
    else if (!isObject(rawBody)) throw badRequest("json: cannot unmarshal array into Go value of type map[string]interface {}");
    else if (type === PATCH_TYPES.merge) patched = mergePatch(old, rawBody);
    else patched = strategicMergePatch(old, rawBody, r.kind);
    const obj = this.normalizeBody(r, namespace, patched, name);
    const rv = isObject(rawBody) && isObject(rawBody.metadata) ? rawBody.metadata.resourceVersion : undefined;
    if (typeof rv === "string" && rv !== old.metadata.resourceVersion) throw conflict(r, name, MODIFIED);
    return { object: this.commit(r, old, obj, options, scope), created: false };
  }

  private apply(
    r: ResourceDef,
    namespace: string | undefined,
    name: string,
    body: unknown,
    options: WriteOptions & { force?: boolean; fieldManagerGiven: boolean },
    scope: Scope,
  ): { object: KObject; created: boolean } {
    if (!options.fieldManagerGiven) {
      throw new ApiError(422, "Invalid", `PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch`, {
        group: "meta.k8s.io",
        kind: "PatchOptions",
        causes: [{ reason: "FieldValueRequired", message: "Required value: is required for apply patch", field: "fieldManager" }],
      });
    }
    if (scope === "status") throw new ApiError(405, "MethodNotAllowed", "server-side apply to the status subresource is not supported by the simulator");
    if (!isObject(body)) throw badRequest("error decoding YAML: the applied configuration must be an object");
    if (typeof body.kind !== "string" || !body.kind) throw badRequest(`Object 'Kind' is missing in '${JSON.stringify(body)}'`);
    if (typeof body.apiVersion !== "string" || !body.apiVersion) throw badRequest(`Object 'apiVersion' is missing in '${JSON.stringify(body)}'`);
    if (isObject(body.metadata) && body.metadata.managedFields !== undefined && body.metadata.managedFields !== null) {
      throw badRequest("metadata.managedFields must be nil");
    }
    const applied = this.normalizeBody(r, namespace, body, name);
    const live = this.tryGet(r, namespace, name);
    if (!live) this.checkNamespace(r, namespace, name);
    const rv = applied.metadata.resourceVersion;
    if (live && rv && rv !== live.metadata.resourceVersion) throw conflict(r, name, MODIFIED);
    const result = applyConfiguration(live, applied, options.manager, options.force ?? false, (merged) => {
      const m = this.normalizeBody(r, namespace, merged, name);
      if (!live) return m;
      // Server-owned metadata must match the live object for the no-op comparison to hold.
      m.metadata.uid = live.metadata.uid;
      m.metadata.creationTimestamp = live.metadata.creationTimestamp;
      m.metadata.resourceVersion = live.metadata.resourceVersion;
      if (live.metadata.generation !== undefined) m.metadata.generation = live.metadata.generation;
      r.defaults?.(m);
      return m;
    });
    if (!live) {
      const obj = result.object;
      const created = this.insertApplied(r, obj, result.managedFields, options);
      return { object: created, created: true };
    }
    return { object: this.commit(r, live, result.object, options, "main", result.managedFields), created: false };
  }

  private insertApplied(r: ResourceDef, obj: KObject, managedFields: KObject["metadata"]["managedFields"], options: WriteOptions): KObject {
    const meta = obj.metadata;
    meta.uid = newUid();
    meta.creationTimestamp = nowIso();
    if (r.bumpsGeneration) meta.generation = 1;
    delete meta.resourceVersion;
    if (r.statusSubresource && r !== R.namespaces && r !== R.nodes) delete obj.status;
    this.prepare(r, obj, undefined);
    meta.managedFields = managedFields ?? [];
    if (options.dryRun) return obj;
    return this.store.create(storeKey(r), obj);
  }

  /**
   * DELETE: immediate for most objects; graceful for scheduled pods (deletionTimestamp now, the
   * kubelet finishes it); held by finalizers, including the GC's foregroundDeletion and orphan.
   */
  delete(r: ResourceDef, namespace: string | undefined, name: string, options: DeleteOptions = {}): { object: KObject; deleted: boolean } {
    const obj = this.get(r, namespace, name);
    const pre = options.preconditions;
    if (pre?.uid && pre.uid !== obj.metadata.uid) {
      throw conflict(r, name, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${obj.metadata.uid}`);
    }
    if (pre?.resourceVersion && pre.resourceVersion !== obj.metadata.resourceVersion) {
      throw conflict(
        r,
        name,
        `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${obj.metadata.resourceVersion}`,
      );
    }
    if (r === R.namespaces) return this.deleteNamespace(obj, options);
    let grace = 0;
    if (r === R.pods) {
      const spec = obj.spec as { nodeName?: string; terminationGracePeriodSeconds?: number };
      const phase = (obj.status as { phase?: string } | undefined)?.phase;
      grace = options.gracePeriodSeconds ?? spec.terminationGracePeriodSeconds ?? 30;
      if (!spec.nodeName || phase === "Succeeded" || phase === "Failed") grace = 0;
    }
    const next = clone(obj);
    const meta = next.metadata;
    const finalizers = new Set(meta.finalizers ?? []);
    if (!meta.deletionTimestamp) {
      if (options.propagationPolicy === "Foreground") finalizers.add("foregroundDeletion");
      if (options.propagationPolicy === "Orphan") finalizers.add("orphan");
    }
    meta.finalizers = [...finalizers];
    if (!meta.finalizers.length) delete meta.finalizers;
    const currentGrace = meta.deletionGracePeriodSeconds;
    if (grace === 0 && !finalizers.size) {
      if (options.dryRun) return { object: obj, deleted: true };
      const last = this.store.delete(storeKey(r), obj.metadata.namespace, name) ?? obj;
      return { object: last, deleted: true };
    }
    if (
      meta.deletionTimestamp &&
      (currentGrace === undefined || grace >= currentGrace) &&
      JSON.stringify(meta.finalizers ?? []) === JSON.stringify(obj.metadata.finalizers ?? [])
    ) {
      return { object: obj, deleted: false };
    }
    meta.deletionTimestamp = new Date(Math.floor(Date.now() / 1000) * 1000 + grace * 1000).toISOString().replace(".000Z", "Z");
    meta.deletionGracePeriodSeconds = grace;
    if (r.bumpsGeneration) meta.generation = (meta.generation ?? 0) + 1;
    if (options.dryRun) return { object: next, deleted: false };
    return { object: this.store.update(storeKey(r), next), deleted: false };
  }

  /** Namespaces terminate: the namespace controller empties them, then calls removeNow. */
  private deleteNamespace(obj: KObject, options: DeleteOptions): { object: KObject; deleted: boolean } {
    const name = obj.metadata.name ?? "";
    if (["default", "kube-system", "kube-public"].includes(name)) {
      throw new ApiError(403, "Forbidden", `namespaces "${name}" is forbidden: this namespace may not be deleted`, { name, kind: "namespaces" });
    }
    if (obj.metadata.deletionTimestamp) return { object: obj, deleted: false };
    const next = clone(obj);
    next.metadata.deletionTimestamp = nowIso();
    next.metadata.deletionGracePeriodSeconds = 0;
    next.status = { phase: "Terminating" };
    if (options.dryRun) return { object: next, deleted: false };
    return { object: this.store.update(storeKey(R.namespaces), next), deleted: false };
  }

  /** Removes an object at once, whatever holds it (the end of graceful deletion and finalization). */
  removeNow(r: ResourceDef, namespace: string | undefined, name: string): KObject | undefined {
    return this.store.delete(storeKey(r), r.namespaced ? namespace : undefined, name);
  }

  /**
   * For controllers: read the latest object, change a copy, write it if it changed. Returns the
   * stored object, or undefined when it no longer exists. `change` returning false skips the write.
   */
  mutate(
    r: ResourceDef,
    namespace: string | undefined,
    name: string,
    manager: string,
    change: (obj: KObject) => boolean | void,
    scope: Scope = "main",
  ): KObject | undefined {
    const current = this.tryGet(r, namespace, name);
    if (!current) return undefined;
    const next = clone(current);
    if (change(next) === false) return current;
    return this.commit(r, current, next, { manager }, scope);
  }

  /** pods/binding: sets spec.nodeName and PodScheduled=True in one write. */
  bind(namespace: string, name: string, nodeName: string, manager: string): KObject | undefined {
    const current = this.tryGet(R.pods, namespace, name);
    if (!current || current.metadata.deletionTimestamp) return undefined;
    const spec = current.spec as { nodeName?: string };
    if (spec.nodeName) return undefined;
    const next = clone(current);
    (next.spec as { nodeName?: string }).nodeName = nodeName;
    const status = (next.status ??= {}) as { conditions?: { type: string }[] };
    const conditions = (status.conditions ?? []).filter((c) => c.type !== "PodScheduled");
    conditions.push({ type: "PodScheduled", status: "True", lastProbeTime: null, lastTransitionTime: nowIso() } as { type: string });
    status.conditions = conditions;
    const main = recordUpdate(current, next, manager, "main");
    next.metadata.managedFields = recordUpdate({ ...current, metadata: { ...current.metadata, managedFields: main } }, next, manager, "status");
    return this.store.update(storeKey(R.pods), next);
  }

  /** For controllers: create an object from a full body (namespace taken from its metadata). */
  createObject(r: ResourceDef, body: KObject, manager: string): KObject {
    return this.create(r, body.metadata.namespace, body, { manager });
  }
}
