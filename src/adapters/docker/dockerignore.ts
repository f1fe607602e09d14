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

export async function loadContextFilter(contextDir: string): Promise<ContextFilter> {
  let text = "";
  try {
    text = await readFile(join(contextDir, ".dockerignore"), "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  return contextFilterFromPatterns(text.split(/\r?\n/));
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
