/**
 * What one batch of file changes needs: copying into the running container (live update), or a
 * new image. A batch syncs only when every changed file is covered by a sync rule and none of them
 * changes how the image is built; one file that needs a build makes the whole batch a build, since
 * a build takes in every change anyway.
 *
 * Files excluded by .dockerignore never get here: the watcher drops them (classifyChange in
 * core/dev/changes.ts), as they cannot change the image. mlkube.yaml is not a build-context file
 * for the loop either: its changes arrive as the change set's `config` flag (a reload, which may
 * bring other build args, rules or Dockerfile), hence `configChanged`.
 */
import { baseName, joinPosix } from "./posix-path.js";
import type { SyncRule } from "./sync-rules.js";

type FileChangeKind = "added" | "changed" | "deleted";

export interface FileChange {
  /** Relative to the build context, POSIX. */
  path: string;
  kind: FileChangeKind;
}

export interface ChangePlanInput {
  changes: readonly FileChange[];
  rules: readonly SyncRule[];
  /** The Dockerfile's path relative to the build context, when it lies inside the context. */
  dockerfile?: string | undefined;
  /** Live update is switched off, and by what. */
  liveOff?: "--no-live" | "sync: false" | undefined;
  /** mlkube.yaml changed in this batch. */
  configChanged?: boolean | undefined;
}

type ChangePlan = { kind: "sync"; copies: { local: string; remote: string }[]; deletes: string[] } | { kind: "rebuild"; reason: string };

/**
 * Files that describe how to install dependencies. The install runs while the image is built
 * (`RUN pip install -r requirements.txt`, `npm ci`); the running server never reads these files,
 * so copying them into a container changes nothing that runs.
 */
const DEPENDENCY_FILES: readonly RegExp[] = [
  // pip: requirements.txt, requirements-dev.txt, requirements/base.txt, pip-tools' .in, constraints
  /(^|\/)requirements[^/]*\.(txt|in)$/,
  /(^|\/)requirements\/[^/]+\.(txt|in)$/,
  /(^|\/)constraints[^/]*\.txt$/,
  // Python packaging and lock files: pyproject (pip, Poetry, PDM, uv, Hatch), setuptools, Pipenv
  /(^|\/)(pyproject\.toml|setup\.py|setup\.cfg|poetry\.lock|Pipfile|Pipfile\.lock|uv\.lock|pdm\.lock)$/,
  // conda: environment files and conda-lock's lock files
  /(^|\/)(environment|conda-environment)\.ya?ml$/,
  /(^|\/)conda-lock\.ya?ml$/,
  /(^|\/)conda-[^/]+\.lock$/,
  // Node servers: the manifest and each package manager's lock file
  /(^|\/)(package\.json|package-lock\.json|npm-shrinkwrap\.json|yarn\.lock|pnpm-lock\.yaml)$/,
];

export function planChange(input: ChangePlanInput): ChangePlan {
  if (input.liveOff)
    return { kind: "rebuild", reason: `live update is off (${input.liveOff === "sync: false" ? "sync: false in mlkube.yaml" : input.liveOff})` };
  if (input.configChanged) return { kind: "rebuild", reason: "mlkube.yaml changed" };

  const copies = new Map<string, { local: string; remote: string }>();
  const deletes = new Set<string>();
  for (const change of input.changes) {
    const buildInput = buildInputReason(change.path, input.dockerfile);
    if (buildInput !== undefined) {
      return {
        kind: "rebuild",
        reason: `${change.path} ${change.kind === "deleted" ? "was deleted" : "changed"}${buildInput === "" ? "" : ` (${buildInput})`}`,
      };
    }
    const remotes = input.rules.flatMap((rule) => remotePathFor(change.path, rule) ?? []);
    if (remotes.length === 0) return { kind: "rebuild", reason: `${change.path} is not covered by a sync rule` };
    for (const remote of remotes) {
      if (change.kind === "deleted") deletes.add(remote);
      else copies.set(`${change.path}\0${remote}`, { local: change.path, remote });
    }
  }
  return { kind: "sync", copies: [...copies.values()], deletes: [...deletes] };
}

/**
 * Why a change to this file needs a new image whatever the rules say ("" when the file's name says
 * it all), or undefined when it does not.
 */
function buildInputReason(path: string, dockerfile: string | undefined): string | undefined {
  if (path === dockerfile) return "";
  // BuildKit reads <Dockerfile>.dockerignore in place of .dockerignore when it exists.
  if (path === ".dockerignore" || path === `${dockerfile}.dockerignore`) return "it decides what the build context holds";
  if (DEPENDENCY_FILES.some((pattern) => pattern.test(path))) return "dependencies are installed at build time";
  return undefined;
}

/**
 * Where Docker puts a context file through one rule, or undefined when the rule does not copy it:
 * the file itself, or a file under a source directory (whose contents Docker copies).
 */
export function remotePathFor(path: string, rule: SyncRule): string | undefined {
  const sourceParts = rule.src === "." ? [] : rule.src.split("/");
  const pathParts = path.split("/");
  if (pathParts.length < sourceParts.length) return undefined;
  if (!sourceParts.every((part, index) => segmentMatches(part, pathParts[index] as string))) return undefined;
  const below = pathParts.slice(sourceParts.length);
  if (below.length > 0) return joinPosix(rule.dest, below.join("/"));
  return rule.dest.endsWith("/") ? joinPosix(rule.dest, baseName(path)) : rule.dest;
}

/** One path segment against one pattern segment, as Go's filepath.Match (which Docker's wildcards use). */
function segmentMatches(pattern: string, segment: string): boolean {
  if (!/[*?[\\]/.test(pattern)) return pattern === segment;
  return wildcardRegExp(pattern).test(segment);
}

function wildcardRegExp(pattern: string): RegExp {
  let source = "";
  for (let index = 0; index < pattern.length; index++) {
    const char = pattern[index] as string;
    if (char === "*") source += "[^/]*";
    else if (char === "?") source += "[^/]";
    else if (char === "\\" && index + 1 < pattern.length) source += escapeRegExp(pattern[++index] as string);
    else if (char === "[") {
      const end = pattern.indexOf("]", index + 2);
      if (end < 0) return /(?!)/; // filepath.Match: a malformed pattern matches nothing
      const body = pattern.slice(index + 1, end);
      const negated = body.startsWith("^");
      source += `[${negated ? "^" : ""}${(negated ? body.slice(1) : body).replace(/[\]\\^]/g, "\\$&")}]`;
      index = end;
    } else source += escapeRegExp(char);
  }
  return new RegExp(`^${source}$`);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/-]/g, "\\$&");
}
