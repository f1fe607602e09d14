/**
 * What a changed file means for the loop (Skaffold's change set): build context files need the
 * whole pipeline; mlkube.yaml needs a reload and then the pipeline (the build is a cache hit when
 * only deployment settings changed); the user's manifests need a re-render and apply; anything
 * ignored needs nothing.
 */
export type ChangeKind = "build" | "config" | "manifests" | "ignored";

export interface ChangeSet {
  build: boolean;
  config: boolean;
  manifests: boolean;
  /** Tests only (the `t` key). */
  tests: boolean;
  /** Rebuild even if nothing changed (the `r` key). */
  force: boolean;
  /** Why a rebuild is forced when it is not the user's key: "pod x started from the image, without app.py". */
  rebuildReason?: string | undefined;
  paths: string[];
  /** When the first change of this set happened: the start of edit-to-verified. */
  firstEventAt: number | undefined;
}

export const EMPTY_CHANGES: ChangeSet = { build: false, config: false, manifests: false, tests: false, force: false, paths: [], firstEventAt: undefined };

export interface ClassifyRules {
  /** Relative to the model directory, forward slashes. */
  configFiles: readonly string[];
  manifestPaths: readonly string[];
  /**
   * The Dockerfile, relative to the model directory: always a build change, even outside the
   * build context or listed in .dockerignore (docker build sends it anyway).
   */
  dockerfile?: string | undefined;
  /** True when the path is part of the build context and not excluded by .dockerignore. */
  inBuildContext: (path: string) => boolean;
  /** Built-in ignores, the config's watch.ignore, and what mlkube itself writes. */
  ignored: (path: string) => boolean;
}

export function classifyChange(path: string, rules: ClassifyRules): ChangeKind {
  if (rules.configFiles.includes(path)) return "config";
  if (rules.manifestPaths.some((manifest) => path === manifest || path.startsWith(`${manifest}/`))) return "manifests";
  if (path === rules.dockerfile) return "build";
  if (rules.ignored(path)) return "ignored";
  return rules.inBuildContext(path) ? "build" : "ignored";
}

export function addChanges(set: ChangeSet, changes: readonly { path: string; kind: ChangeKind }[], at: number): ChangeSet {
  const relevant = changes.filter((change) => change.kind !== "ignored");
  if (relevant.length === 0) return set;
  return {
    ...set,
    build: set.build || relevant.some((change) => change.kind === "build"),
    config: set.config || relevant.some((change) => change.kind === "config"),
    manifests: set.manifests || relevant.some((change) => change.kind === "manifests"),
    paths: [...new Set([...set.paths, ...relevant.map((change) => change.path)])],
    firstEventAt: set.firstEventAt ?? at,
  };
}

export function isEmpty(set: ChangeSet): boolean {
  return !set.build && !set.config && !set.manifests && !set.tests && !set.force;
}
