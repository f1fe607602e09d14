/**
 * The little schema knowledge that merging needs: which lists are "associative" (merged item by
 * item, by key) rather than atomic. Strategic merge patch and server-side apply both use it, as the
 * real ones use the `patchMergeKey` / `listMapKeys` markers of the OpenAPI schema.
 */
import { isObject } from "./types.js";

const CONTAINER_LISTS = new Set(["containers", "initContainers", "ephemeralContainers"]);

/** Key fields of the list at `path` (field names only, list items skipped), or undefined when atomic. */
export function listKeys(kind: string, path: string[]): string[] | undefined {
  const last = path[path.length - 1] ?? "";
  const parent = path[path.length - 2] ?? "";
  const joined = path.join(".");
  if (CONTAINER_LISTS.has(last) && parent === "spec") return ["name"];
  if (last === "ports" && CONTAINER_LISTS.has(parent)) return ["containerPort", "protocol"];
  if (joined === "spec.ports" && kind === "Service") return ["port", "protocol"];
  if (last === "env" && CONTAINER_LISTS.has(parent)) return ["name"];
  if (last === "volumeMounts") return ["mountPath"];
  if (last === "volumeDevices") return ["devicePath"];
  if (last === "volumes" && parent === "spec") return ["name"];
  if (last === "imagePullSecrets") return ["name"];
  if (last === "hostAliases") return ["ip"];
  if (last === "conditions") return ["type"];
  if (last === "topologySpreadConstraints") return ["topologyKey", "whenUnsatisfiable"];
  if (joined === "metadata.ownerReferences") return ["uid"];
  return undefined;
}

/** Key fields default like the schema defaults them (a port's protocol is TCP unless said). */
export function keyValues(item: unknown, keys: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of [...keys].sort()) {
    const v = isObject(item) ? item[k] : undefined;
    if (v !== undefined) out[k] = v;
    else if (k === "protocol") out[k] = "TCP";
  }
  return out;
}

/** The FieldsV1 element naming one list item: `k:{"name":"model"}`. */
export function keyElement(item: unknown, keys: string[]): string {
  return `k:${JSON.stringify(keyValues(item, keys))}`;
}
