/**
 * The HTTPS front of the API server stand-in: parses a request the way the apiserver's router
 * does (/api/v1/..., /apis/GROUP/VERSION/..., namespaced or not, subresources, the legacy
 * /watch/ prefix), decodes bodies (JSON, YAML for apply) and answers objects, lists, watch
 * streams, logs or Status errors.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { parse as parseYaml } from "yaml";
import { authenticate, type UserInfo } from "./authn.js";
import { attributesOf, authorize, checkRequest } from "./authz.js";
import { apiGroup, apiGroupList, apiResourceList, apiVersions, versionInfo } from "./discovery.js";
import { serveLogs, type LogProvider } from "./logs.js";
import { jsonPatch, mergePatch, PATCH_TYPES } from "./patch.js";
import type { DeleteOptions, Registry } from "./registry.js";
import { apiVersionOf, findResource, R, type ResourceDef } from "./resources.js";
import { selectorString } from "./selectors.js";
import { ApiError, badRequest, internalError, invalid, methodNotAllowed, successStatus, unknownPath, unsupportedMediaType } from "./status.js";
import { toTable, wantsTable } from "./table.js";
import { isObject, type KObject, type Pod } from "./types.js";
import type { WatchHub } from "./watch.js";

const MAX_BODY = 3 * 1024 * 1024;

export interface HttpDeps {
  registry: Registry;
  watches: WatchHub;
  logs: LogProvider;
  log: (line: string) => void;
}

interface Target {
  r: ResourceDef;
  namespace?: string;
  name?: string;
  subresource?: string;
  watchPrefix: boolean;
}

function send(res: ServerResponse, code: number, body: unknown, pretty: boolean): void {
  const text = JSON.stringify(body, null, pretty ? 2 : undefined);
  res.writeHead(code, { "Content-Type": "application/json", "Cache-Control": "no-cache, private", "Content-Length": Buffer.byteLength(text) });
  res.end(text);
}

function sendText(res: ServerResponse, code: number, text: string): void {
  res.writeHead(code, { "Content-Type": "text/plain; charset=utf-8", "Content-Length": Buffer.byteLength(text) });
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new ApiError(413, "RequestEntityTooLarge", "Request entity too large: limit is 3145728");
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function decode(raw: Buffer, contentType: string): unknown {
  const text = raw.toString("utf8");
  if (!text.trim()) return undefined;
  try {
    if (/yaml/.test(contentType)) return parseYaml(text) as unknown;
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw badRequest(`error decoding ${/yaml/.test(contentType) ? "YAML" : "JSON"}: ${(err as Error).message}`);
  }
}

/** Maps a URL path to a resource, or to undefined when it is not a resource path. */
function route(path: string): Target | undefined {
  const segments = path.split("/").filter(Boolean).map(decodeURIComponent);
  let group: string;
  let version: string;
  let rest: string[];
  if (segments[0] === "api" && segments.length >= 2) {
    group = "";
    version = segments[1] ?? "";
    rest = segments.slice(2);
  } else if (segments[0] === "apis" && segments.length >= 3) {
    group = segments[1] ?? "";
    version = segments[2] ?? "";
    rest = segments.slice(3);
  } else return undefined;
  let watchPrefix = false;
  if (rest[0] === "watch") {
    watchPrefix = true;
    rest = rest.slice(1);
  }
  if (rest.length === 0) return undefined;
  if (rest[0] === "namespaces" && rest.length >= 3) {
    const r = findResource(group, version, rest[2] ?? "");
    if (!r || !r.namespaced || rest.length > 5) return undefined;
    return { r, namespace: rest[1], name: rest[3], subresource: rest[4], watchPrefix };
  }
  const r = findResource(group, version, rest[0] ?? "");
  if (!r || rest.length > 3) return undefined;
  return { r, name: rest[1], subresource: rest[2], watchPrefix };
}

/** Managers default to the client's user agent up to the first '/', as the apiserver does. */
function managerOf(req: IncomingMessage, query: URLSearchParams): { manager: string; given: boolean } {
  const given = query.get("fieldManager");
  if (given) return { manager: given, given: true };
  const agent = req.headers["user-agent"] ?? "unknown";
  return { manager: agent.split("/")[0] || "unknown", given: false };
}

function truthy(value: string | null): boolean {
  return value === "true" || value === "1";
}

function dryRunOf(query: URLSearchParams): boolean {
  const values = query.getAll("dryRun");
  for (const v of values) if (v !== "All") throw badRequest(`dryRun: Unsupported value: "${v}": supported values: "All"`);
  return values.length > 0;
}

/** List items carry no kind/apiVersion on the wire; the list itself does. */
function listBody(r: ResourceDef, items: KObject[], resourceVersion: string, query: URLSearchParams): Record<string, unknown> {
  const limit = Number(query.get("limit") ?? 0);
  let start = 0;
  const token = query.get("continue");
  if (token) {
    try {
      const decoded = JSON.parse(Buffer.from(token, "base64").toString("utf8")) as { start: number; rv: string };
      start = decoded.start;
      resourceVersion = decoded.rv;
    } catch {
      throw new ApiError(400, "BadRequest", "continue key is not valid: illegal base64 data");
    }
  }
  let page = items.slice(start);
  const metadata: Record<string, unknown> = { resourceVersion };
  if (limit > 0 && page.length > limit) {
    page = page.slice(0, limit);
    metadata.continue = Buffer.from(JSON.stringify({ start: start + limit, rv: resourceVersion })).toString("base64");
    metadata.remainingItemCount = items.length - start - limit;
  }
  return {
    kind: `${r.kind}List`,
    apiVersion: apiVersionOf(r),
    metadata,
    items: page.map((o) => {
      const { apiVersion: _a, kind: _k, ...rest } = o;
      return rest;
    }),
  };
}

function hasScale(r: ResourceDef): boolean {
  return r === R.deployments || r === R.replicasets;
}

/** autoscaling/v1 Scale view of a workload, as `kubectl scale` reads and writes it. */
function scaleOf(r: ResourceDef, obj: KObject): Record<string, unknown> {
  const spec = obj.spec as { replicas?: number; selector?: Parameters<typeof selectorString>[0] };
  const status = obj.status as { replicas?: number } | undefined;
  const { name, namespace, uid, resourceVersion, creationTimestamp } = obj.metadata;
  return {
    kind: "Scale",
    apiVersion: "autoscaling/v1",
    metadata: { name, namespace, uid, resourceVersion, creationTimestamp },
    spec: { replicas: spec.replicas ?? 0 },
    status: { replicas: status?.replicas ?? 0, selector: selectorString(spec.selector) },
  };
}

async function serveScale(
  deps: HttpDeps,
  req: IncomingMessage,
  res: ServerResponse,
  r: ResourceDef,
  namespace: string,
  name: string,
  query: URLSearchParams,
  pretty: boolean,
): Promise<void> {
  const registry = deps.registry;
  const current = registry.get(r, namespace, name);
  const method = req.method ?? "GET";
  if (method === "GET") return send(res, 200, scaleOf(r, current), pretty);
  if (method !== "PUT" && method !== "PATCH") throw methodNotAllowed();
  const contentType = (req.headers["content-type"] ?? "application/json").toLowerCase().split(";")[0]?.trim() ?? "";
  const body = decode(await readBody(req), contentType);
  let wanted: unknown;
  if (method === "PUT") wanted = body;
  else if (contentType === PATCH_TYPES.json) wanted = jsonPatch(scaleOf(r, current), body);
  else if (contentType === PATCH_TYPES.merge || contentType === PATCH_TYPES.strategic || contentType === PATCH_TYPES.apply)
    wanted = mergePatch(scaleOf(r, current), body);
  else throw unsupportedMediaType(contentType, [PATCH_TYPES.json, PATCH_TYPES.merge, PATCH_TYPES.apply, PATCH_TYPES.strategic]);
  const replicas = isObject(wanted) && isObject(wanted.spec) ? wanted.spec.replicas : undefined;
  if (typeof replicas !== "number") throw badRequest("spec.replicas: Required value");
  const rv = isObject(wanted) && isObject(wanted.metadata) ? wanted.metadata.resourceVersion : undefined;
  const next = structuredClone(current) as KObject;
  if (typeof rv === "string" && rv) next.metadata.resourceVersion = rv;
  (next.spec as { replicas?: number }).replicas = replicas;
  const { manager } = managerOf(req, query);
  const updated = registry.update(r, namespace, name, next, { manager, dryRun: dryRunOf(query) });
  return send(res, 200, scaleOf(r, updated), pretty);
}

/** `kubectl auth can-i`'s question, answered by the same authorizer for the user who asks. */
function selfReview(deps: HttpDeps, user: UserInfo, raw: Buffer, res: ServerResponse, pretty: boolean): void {
  const review = decode(raw, "application/json") as
    { spec?: { resourceAttributes?: Record<string, string>; nonResourceAttributes?: Record<string, string> } } | undefined;
  const spec = review?.spec ?? {};
  const resource = spec.resourceAttributes;
  const nonResource = spec.nonResourceAttributes;
  if (!resource && !nonResource)
    throw invalid("SelfSubjectAccessReview", "authorization.k8s.io", "", [
      { type: "FieldValueRequired", field: "spec.resourceAttributes", detail: "exactly one of nonResourceAttributes or resourceAttributes must be specified" },
    ]);
  // A SelfSubjectAccessReview's ResourceAttributes name the group "group"; the authorizer's "apiGroup".
  const { group: apiGroup, ...named } = resource ?? {};
  const attributes = resource
    ? attributesOf({ ...named, apiGroup: apiGroup ?? "", resourceRequest: true })
    : attributesOf({ verb: nonResource?.verb ?? "", path: nonResource?.path ?? "" });
  const decision = authorize(deps.registry, user, attributes);
  const status = decision.reason ? { allowed: decision.allowed, reason: decision.reason } : { allowed: decision.allowed };
  send(res, 201, { kind: "SelfSubjectAccessReview", apiVersion: "authorization.k8s.io/v1", metadata: { creationTimestamp: null }, spec, status }, pretty);
}

export function createHandler(deps: HttpDeps): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    handle(deps, req, res).catch((err: unknown) => {
      const apiErr = err instanceof ApiError ? err : internalError((err as Error)?.message ?? String(err));
      if (!(err instanceof ApiError)) deps.log(`request ${req.method} ${req.url} failed: ${(err as Error)?.stack ?? String(err)}`);
      if (res.headersSent) {
        res.end();
        return;
      }
      send(res, apiErr.code, apiErr.toStatus(), false);
    });
  };
}

async function handle(deps: HttpDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? "/", "https://127.0.0.1");
  const path = url.pathname.replace(/\/+$/, "") || "/";
  const query = url.searchParams;
  const method = req.method ?? "GET";
  const pretty = truthy(query.get("pretty"));

  const user = authenticate(req);
  checkRequest(deps.registry, user, method, req.url ?? "/");

  // --- non-resource endpoints
  if (method === "GET") {
    if (path === "/healthz" || path === "/livez" || path === "/readyz") return sendText(res, 200, "ok");
    if (path === "/version") return send(res, 200, versionInfo(), true);
    if (path === "/api") return send(res, 200, apiVersions(), pretty);
    if (path === "/apis") return send(res, 200, apiGroupList(), pretty);
    const groupMatch = /^\/apis\/([^/]+)$/.exec(path);
    if (groupMatch) {
      const doc = apiGroup(groupMatch[1] ?? "");
      if (doc) return send(res, 200, doc, pretty);
    }
    const gv = /^\/api\/(v1)$/.exec(path) ?? /^\/apis\/([^/]+\/[^/]+)$/.exec(path);
    if (gv) {
      const [group, version] = gv[1]?.includes("/") ? (gv[1].split("/") as [string, string]) : ["", gv[1] ?? ""];
      const doc = apiResourceList(group, version);
      if (doc) return send(res, 200, doc, pretty);
    }
  }

  if (method === "POST" && path === "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews") return selfReview(deps, user, await readBody(req), res, pretty);

  const target = route(path);
  if (!target) throw unknownPath();
  const { r, namespace, name, subresource } = target;
  const registry = deps.registry;
  const watch = target.watchPrefix || truthy(query.get("watch"));
  // Port-forwards and execs arrive as upgrades (upgrade.ts); a plain request gets the apiserver's answer.
  if ((subresource === "portforward" || subresource === "exec") && r === R.pods) throw badRequest("Upgrade request required");
  if (
    subresource &&
    !(subresource === "status" && r.statusSubresource) &&
    !(subresource === "log" && r === R.pods) &&
    !(subresource === "scale" && hasScale(r))
  )
    throw unknownPath();
  if (subresource === "scale") return serveScale(deps, req, res, r, namespace ?? "", name ?? "", query, pretty);

  switch (method) {
    case "GET": {
      if (subresource === "log") {
        const pod = registry.get(r, namespace, name ?? "") as Pod;
        return serveLogs(req, res, pod, query, deps.logs);
      }
      const table = wantsTable(req.headers.accept);
      if (name && !watch) {
        const obj = registry.get(r, namespace, name);
        return send(res, 200, table ? toTable(r, [obj], obj.metadata.resourceVersion ?? "", query.get("includeObject")) : obj, pretty);
      }
      const selectors = { labelSelector: query.get("labelSelector") ?? undefined, fieldSelector: query.get("fieldSelector") ?? undefined };
      if (name) selectors.fieldSelector = [selectors.fieldSelector, `metadata.name=${name}`].filter(Boolean).join(",");
      if (watch) {
        const timeout = query.get("timeoutSeconds");
        deps.watches.serve(res, r, {
          ...selectors,
          namespace,
          resourceVersion: query.get("resourceVersion") ?? undefined,
          allowWatchBookmarks: truthy(query.get("allowWatchBookmarks")),
          sendInitialEvents: truthy(query.get("sendInitialEvents")),
          timeoutSeconds: timeout ? Number(timeout) : undefined,
          render: table ? (o) => toTable(r, [o], o.metadata.resourceVersion ?? "", query.get("includeObject")) : undefined,
        });
        return;
      }
      const rv = registry.store.resourceVersion;
      const body = listBody(r, registry.list(r, namespace, selectors), rv, query);
      if (table) {
        const items = (body.items as KObject[]).map((o) => ({ ...o, apiVersion: apiVersionOf(r), kind: r.kind }));
        const { resourceVersion: _rv, ...listMeta } = body.metadata as Record<string, unknown>;
        return send(res, 200, toTable(r, items, rv, query.get("includeObject"), listMeta), pretty);
      }
      return send(res, 200, body, pretty);
    }
    case "POST": {
      if (name) throw methodNotAllowed();
      if (!r.namespaced && namespace) throw unknownPath();
      const contentType = (req.headers["content-type"] ?? "application/json").toLowerCase();
      if (!/json|yaml/.test(contentType))
        throw unsupportedMediaType(contentType, ["application/json", "application/yaml", "application/vnd.kubernetes.protobuf"]);
      const body = decode(await readBody(req), contentType);
      const { manager } = managerOf(req, query);
      const created = registry.create(r, namespace, body, { manager, dryRun: dryRunOf(query) });
      return send(res, 201, created, pretty);
    }
    case "PUT": {
      if (!name) throw methodNotAllowed();
      const contentType = (req.headers["content-type"] ?? "application/json").toLowerCase();
      if (!/json|yaml/.test(contentType))
        throw unsupportedMediaType(contentType, ["application/json", "application/yaml", "application/vnd.kubernetes.protobuf"]);
      const body = decode(await readBody(req), contentType);
      const { manager } = managerOf(req, query);
      const updated = registry.update(r, namespace, name, body, { manager, dryRun: dryRunOf(query) }, subresource === "status" ? "status" : "main");
      return send(res, 200, updated, pretty);
    }
    case "PATCH": {
      if (!name) throw methodNotAllowed();
      const contentType = (req.headers["content-type"] ?? "").toLowerCase();
      const type = contentType.split(";")[0]?.trim() ?? "";
      const accepted = [PATCH_TYPES.json, PATCH_TYPES.merge, PATCH_TYPES.apply, PATCH_TYPES.strategic] as string[];
      if (!accepted.includes(type)) throw unsupportedMediaType(type, accepted);
      const body = decode(await readBody(req), type === PATCH_TYPES.apply ? "yaml" : "json");
      const { manager, given } = managerOf(req, query);
      const force = query.get("force");
      if (force !== null && force !== "true" && force !== "false") throw badRequest(`force: Invalid value: "${force}"`);
      const result = registry.patch(
        r,
        namespace,
        name,
        type,
        body,
        { manager, fieldManagerGiven: given, force: force === "true", dryRun: dryRunOf(query) },
        subresource === "status" ? "status" : "main",
      );
      return send(res, result.created ? 201 : 200, result.object, pretty);
    }
    case "DELETE": {
      const contentType = (req.headers["content-type"] ?? "application/json").toLowerCase();
      const raw = await readBody(req);
      const body = raw.length ? decode(raw, contentType) : undefined;
      const options: DeleteOptions = isObject(body) ? (body as DeleteOptions) : {};
      const policy = query.get("propagationPolicy") ?? options.propagationPolicy ?? (query.get("orphanDependents") === "true" ? "Orphan" : undefined);
      if (policy && !["Orphan", "Background", "Foreground"].includes(policy)) {
        throw badRequest(
          `DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Unsupported value: "${policy}": supported values: "Foreground", "Background", "Orphan", "nil"`,
        );
      }
      const graceRaw = query.get("gracePeriodSeconds");
      const deleteOptions: DeleteOptions = {
        gracePeriodSeconds: graceRaw !== null ? Number(graceRaw) : options.gracePeriodSeconds,
        propagationPolicy: policy as DeleteOptions["propagationPolicy"],
        preconditions: options.preconditions,
        dryRun: dryRunOf(query) || (isObject(body) && Array.isArray(body.dryRun) && body.dryRun.length > 0),
      };
      if (!name) {
        // deletecollection: every object matching the selectors.
        const selectors = { labelSelector: query.get("labelSelector") ?? undefined, fieldSelector: query.get("fieldSelector") ?? undefined };
        const items = registry.list(r, namespace, selectors).map((o) => registry.delete(r, o.metadata.namespace, o.metadata.name ?? "", deleteOptions).object);
        return send(res, 200, listBody(r, items, registry.store.resourceVersion, new URLSearchParams()), pretty);
      }
      const { object, deleted } = registry.delete(r, namespace, name, deleteOptions);
      if (deleted && !r.returnDeletedObject) {
        const details: Record<string, string> = { name, kind: r.plural, uid: object.metadata.uid ?? "" };
        if (r.group) details.group = r.group;
        return send(res, 200, successStatus(details), pretty);
      }
      return send(res, 200, object, pretty);
    }
    default:
      throw methodNotAllowed();
  }
}
