import dockerignoreModule from "@balena/dockerignore";
import { readFile } from "node:fs/promises";
import { join } from "node:path";

/** Docker's own .dockerignore semantics (a maintained port of moby's matcher). Shared by the build
 * context and the file watcher, so a file excluded from the image never triggers a rebuild. */
// The package is CommonJS (module.exports = factory) while its types declare an ES default export.
const dockerignore = ((dockerignoreModule as { default?: unknown }).default ?? dockerignoreModule) as typeof dockerignoreModule.default;

export interface ContextFilter {
  /** Path relative to the context, with forward slashes. */
  excludes(relativePath: string): boolean;
  /** With `!` exceptions a child of an excluded folder may be re-included, so the folder must still be walked. */
  canPrune(relativeDir: string): boolean;
}

/**
 * The ignore file a BuildKit build uses: `<Dockerfile name>.dockerignore` beside the Dockerfile when
 * there is one (it wins over the context's; docs.docker.com/build/building/context, "Filename-specific
 * ignore files"), else the context's .dockerignore. mlkube lists the context as the docker CLI does:
 * a file the CLI sends but mlkube ignored would leave its changes out of the image's tag.
 */
export async function loadContextFilter(contextDir: string, dockerfile?: string): Promise<ContextFilter> {
  for (const file of [...(dockerfile === undefined ? [] : [`${dockerfile}.dockerignore`]), join(contextDir, ".dockerignore")]) {
    try {
      return contextFilterFromPatterns((await readFile(file, "utf8")).split(/\r?\n/));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    }
  }
  return contextFilterFromPatterns([]);
}

/** Whether a changed file is an ignore file that may decide the context: the context's or the Dockerfile's own. */
export function isIgnoreFile(relativePath: string, dockerfileRelative: string | undefined): boolean {
  return (
    relativePath === ".dockerignore" ||
    relativePath.endsWith("/.dockerignore") ||
    (dockerfileRelative !== undefined && relativePath === `${dockerfileRelative}.dockerignore`)
  );
}

export function contextFilterFromPatterns(lines: readonly string[]): ContextFilter {
  const patterns = lines.map((line) => line.trim()).filter((line) => line !== "" && !line.startsWith("#"));
  const matcher = dockerignore({ ignorecase: false }).add(patterns);
  const hasExceptions = patterns.some((pattern) => pattern.startsWith("!"));
  return {
    excludes: (relativePath) => matcher.ignores(relativePath),
    canPrune: (relativeDir) => !hasExceptions && matcher.ignores(relativeDir),
  };
}
