/**
 * The shape every manifest module works with. User manifests can hold anything, so objects are
 * plain JSON records: code reads their fields through the narrowing helpers below instead of
 * trusting a TypeScript type that the YAML may not match.
 */

/** A Kubernetes object as parsed from YAML or generated: apiVersion and kind always present. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name?: string; namespace?: string; labels?: Record<string, string>; [key: string]: unknown };
  [key: string]: unknown;
}

export type JsonRecord = Record<string, unknown>;

export function isRecord(value: unknown): value is JsonRecord {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The record at `key`, or undefined when it is missing or not a mapping. */
export function recordAt(parent: unknown, key: string): JsonRecord | undefined {
  if (!isRecord(parent)) return undefined;
  const value = parent[key];
  return isRecord(value) ? value : undefined;
}

/** The list at `key`, or an empty list when it is missing or not a list. */
export function listAt(parent: unknown, key: string): unknown[] {
  if (!isRecord(parent)) return [];
  const value = parent[key];
  return Array.isArray(value) ? value : [];
}

export function stringAt(parent: unknown, key: string): string | undefined {
  if (!isRecord(parent)) return undefined;
  const value = parent[key];
  return typeof value === "string" ? value : undefined;
}

/** How messages name an object: `Deployment iris-sklearn`. */
export function describeObject(object: { kind?: unknown; metadata?: unknown }): string {
  const kind = typeof object.kind === "string" ? object.kind : "object";
  const name = stringAt(object.metadata, "name");
  return name === undefined ? kind : `${kind} ${name}`;
}

/** Where an object came from, for messages: a file and its 1-based document number, or generated. */
export interface ObjectOrigin {
  /** Absolute path of the YAML file, or undefined for objects mlkube generated. */
  file?: string | undefined;
  /** 1-based position of the document in the file, counting every `---`-separated document. */
  document?: number | undefined;
}
