import { parseAllDocuments } from "yaml";
import { expect } from "vitest";

// Tests index freely into printed manifests; a full Kubernetes type would only add casts.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

/** The objects of a command's multi-document YAML output, failing the test on a YAML error. */
export function objectsOf(stdout: string): Record<string, Json>[] {
  const documents = parseAllDocuments(stdout);
  if (!Array.isArray(documents)) return [];
  return documents.map((document) => {
    expect(document.errors).toEqual([]);
    return document.toJS() as Record<string, Json>;
  });
}
