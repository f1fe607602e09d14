/**
 * POSIX path arithmetic for container paths and build-context paths, which are POSIX whatever the
 * host is (core/ has no node:path, and the host's path module would use the host's separator).
 */

/** `/app/./src/../x` -> `/app/x`. `..` never climbs above the root, as in Docker. */
export function normalizeAbsolute(path: string): string {
  const parts: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") parts.pop();
    else parts.push(part);
  }
  return `/${parts.join("/")}`;
}

/** A path resolved against a directory, as WORKDIR and COPY destinations are. */
export function resolveAgainst(dir: string, path: string): string {
  return normalizeAbsolute(path.startsWith("/") ? path : `${dir}/${path}`);
}

/**
 * A source path relative to the build context: BuildKit resolves sources inside the context, so a
 * leading `/` or a `..` cannot leave it. The context itself is ".".
 */
export function contextRelative(path: string): string {
  const absolute = normalizeAbsolute(`/${path}`);
  return absolute === "/" ? "." : absolute.slice(1);
}

/** `/app` + `x/y.py` -> `/app/x/y.py` (also for a directory written with its trailing slash). */
export function joinPosix(dir: string, path: string): string {
  return dir.endsWith("/") ? `${dir}${path}` : `${dir}/${path}`;
}

export function baseName(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}
