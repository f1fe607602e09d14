/**
 * Reads the user's manifests: files of one or more YAML documents, or directories of them. Keeps
 * each document's parsed YAML beside its value, so a problem can be shown at its line and column.
 */
import { readFile, readdir, stat } from "node:fs/promises";
import { extname, join } from "node:path";
import { LineCounter, parseAllDocuments, type Document } from "yaml";
import { displayPath, yamlErrorDetails } from "../config/errors.js";
import { UserError } from "../errors.js";

interface LoadedDocument {
  /** Absolute path of the file. */
  file: string;
  /** 1-based, counting every document in the file, empty ones included, as a reader counts `---`. */
  document: number;
  /** The document's value as parsed (not yet validated). */
  value: unknown;
  yaml: Document;
  lineCounter: LineCounter;
}

const MANIFEST_EXTENSIONS = new Set([".yaml", ".yml", ".json"]);
const KUSTOMIZATION_FILES = new Set(["kustomization.yaml", "kustomization.yml", "Kustomization"]);

/**
 * Loads every document of every file, in a stable order: paths as given, and the files of a
 * directory sorted by name. Like `kubectl apply -f DIR`, a directory is read one level deep.
 * Throws one UserError listing every syntax error.
 */
export async function loadManifests(paths: readonly string[]): Promise<LoadedDocument[]> {
  const files: string[] = [];
  for (const path of paths) files.push(...(await manifestFiles(path)));
  const documents: LoadedDocument[] = [];
  const syntaxErrors: string[] = [];
  for (const file of files) {
    const text = await readFile(file, "utf8");
    const lineCounter = new LineCounter();
    const parsed = parseAllDocuments(text, { lineCounter, prettyErrors: true });
    // An empty file parses to an empty stream, not a list: it simply has no documents.
    const yamlDocuments = Array.isArray(parsed) ? parsed : [];
    yamlDocuments.forEach((yaml, index) => {
      if (yaml.errors.length > 0) {
        syntaxErrors.push(...yamlErrorDetails(yaml.errors, displayPath(file)).map((line) => `${line} (document ${index + 1})`));
        return;
      }
      let value: unknown;
      try {
        value = yaml.toJS({ maxAliasCount: 100 });
      } catch (error) {
        // toJS throws for aliases it cannot expand: an unknown anchor, or far too many expansions.
        syntaxErrors.push(`${displayPath(file)}:1:1 ${error instanceof Error ? error.message : String(error)} (document ${index + 1})`);
        return;
      }
      // `---` with nothing after it (or only comments) is an empty document, not an object.
      if (value !== null && value !== undefined) documents.push({ file, document: index + 1, value, yaml, lineCounter });
    });
  }
  if (syntaxErrors.length > 0) {
    throw new UserError("manifest", `The manifests have ${syntaxErrors.length === 1 ? "a YAML syntax error" : `${syntaxErrors.length} YAML syntax errors`}`, {
      details: syntaxErrors,
      hint: "Fix the YAML at the positions shown.",
    });
  }
  if (documents.length === 0) {
    throw new UserError("manifest", `No Kubernetes objects in ${paths.map((path) => displayPath(path)).join(", ")}.`, {
      hint: "Point `manifests` in mlkube.yaml (or --from) at YAML files with your Deployment and Service, or remove it to use the ones mlkube generates.",
    });
  }
  return documents;
}

async function manifestFiles(path: string): Promise<string[]> {
  const info = await stat(path).catch(() => undefined);
  if (info === undefined) {
    throw new UserError("manifest", `${displayPath(path)} does not exist.`, {
      hint: "Check `manifests` in mlkube.yaml (paths are relative to it) or the paths given to --from.",
    });
  }
  if (!info.isDirectory()) return [path];
  const names = (await readdir(path)).sort();
  const kustomization = names.find((name) => KUSTOMIZATION_FILES.has(name));
  if (kustomization !== undefined) {
    throw new UserError("manifest", `${displayPath(path)} is a kustomization (${kustomization}); mlkube reads plain manifests only.`, {
      hint: `Render it first, e.g. 'kubectl kustomize ${displayPath(path)} > manifests.yaml', and point mlkube at that file.`,
    });
  }
  const files: string[] = [];
  for (const name of names) {
    if (!MANIFEST_EXTENSIONS.has(extname(name))) continue;
    const file = join(path, name);
    if ((await stat(file)).isFile()) files.push(file);
  }
  return files;
}
