/** Objects as multi-document YAML, with the keys in the order people read manifests in. */
import { stringify } from "yaml";
import { isRecord, type KubeObject } from "./types.js";

const TOP_LEVEL_ORDER = ["apiVersion", "kind", "metadata", "spec"];
const METADATA_ORDER = ["name", "namespace", "labels", "annotations"];

export function renderYaml(objects: readonly KubeObject[]): string {
  // lineWidth 0: never fold long strings (a folded command or JSON value is hard to read back).
  return objects.map((object) => stringify(ordered(object), { lineWidth: 0 })).join("---\n");
}

/** apiVersion, kind, metadata (name, namespace, labels, annotations first), spec, then the rest as written. */
function ordered(object: KubeObject): Record<string, unknown> {
  const top = reorder(object, TOP_LEVEL_ORDER);
  if (isRecord(top.metadata)) top.metadata = reorder(top.metadata, METADATA_ORDER);
  return top;
}

function reorder(record: Record<string, unknown>, first: readonly string[]): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  for (const key of first) if (record[key] !== undefined) result[key] = record[key];
  for (const [key, value] of Object.entries(record)) if (!(key in result) && value !== undefined) result[key] = value;
  return result;
}
