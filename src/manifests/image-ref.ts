/** Just enough of Docker's image reference grammar to compare repositories. */

/** `registry.example.com/ml/iris:1.4@sha256:...` -> `registry.example.com/ml/iris` */
export function repositoryOf(reference: string): string {
  const withoutDigest = reference.split("@")[0] ?? reference;
  const lastSlash = withoutDigest.lastIndexOf("/");
  const lastColon = withoutDigest.lastIndexOf(":");
  // A colon before the last slash belongs to the registry's port (localhost:5001/iris), not a tag.
  return lastColon > lastSlash ? withoutDigest.slice(0, lastColon) : withoutDigest;
}

/** The last path component of a repository: `registry.example.com/ml/iris` -> `iris`. */
export function imageName(repository: string): string {
  return repository.slice(repository.lastIndexOf("/") + 1);
}

/** Same repository, with Docker Hub's implicit `docker.io/library/` prefix taken into account. */
export function sameRepository(a: string, b: string): boolean {
  return normalize(a) === normalize(b);
}

function normalize(repository: string): string {
  const parts = repository.split("/");
  const first = parts[0] ?? "";
  const hasRegistry = parts.length > 1 && (first.includes(".") || first.includes(":") || first === "localhost");
  const path = hasRegistry ? parts.slice(1).join("/") : repository;
  const registry = hasRegistry ? first : "docker.io";
  const fullPath = registry === "docker.io" && !path.includes("/") ? `library/${path}` : path;
  return `${registry === "index.docker.io" ? "docker.io" : registry}/${fullPath}`;
}
