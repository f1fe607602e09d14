/**
 * Whether a node holds the image the engine built, after a whole-image load.
 *
 * Docker's image ID is not the same kind of digest in both of its image stores: the classic
 * (overlay2) store reports the image's config digest, the containerd image store (the default on
 * fresh Docker Engine 29 and Docker Desktop installs) reports the digest of the image's target, its
 * manifest or index (moby#48894 added that target as `Descriptor` to `docker image inspect`). A
 * node's CRI (`crictl inspecti`) always reports the config digest, while its containerd records the
 * target digest (`ctr images ls`, DIGEST column). kind#4236 is this mismatch in kind's own check;
 * its fix (kind PR #4238) accepts a match on either digest, CRI first. So does mlkube: both are
 * content addresses, so neither can match a different image.
 */

type ImageMatch = "config digest (CRI)" | "target digest (containerd)";

export interface NodeImageReport {
  /** `crictl inspecti` status.id (or `minikube image ls` id): the config digest; may be truncated. */
  criImageId?: string | undefined;
  /** The target digest containerd records for the reference (`ctr images ls`). */
  containerdTarget?: string | undefined;
}

export function matchLoadedImage(engineImageId: string, node: NodeImageReport): ImageMatch | undefined {
  if (node.criImageId && sameDigest(engineImageId, node.criImageId)) return "config digest (CRI)";
  if (node.containerdTarget && sameDigest(engineImageId, node.containerdTarget)) return "target digest (containerd)";
  return undefined;
}

/** Digests compared without the "sha256:" prefix; a listing may shorten one to its first 12+ characters. */
function sameDigest(a: string, b: string): boolean {
  const [long, short] = [a, b].map((digest) => digest.replace(/^sha256:/, "")).sort((x, y) => y.length - x.length) as [string, string];
  return short.length >= 12 && long.startsWith(short);
}

/** status.id from `crictl inspecti -o json`; undefined when the output is not that shape. */
export function crictlImageId(output: string): string | undefined {
  try {
    const id = (JSON.parse(output) as { status?: { id?: unknown } }).status?.id;
    return typeof id === "string" && id ? id : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The DIGEST of REFERENCE's row in `ctr images ls` output (columns REF TYPE DIGEST SIZE PLATFORMS
 * LABELS). containerd names images by their full reference, as `ctr images import` stores a
 * `docker save` of a short name (docker.io/library/...).
 */
export function ctrTargetDigest(output: string, reference: string): string | undefined {
  const wanted = fullReference(reference);
  for (const line of output.split("\n")) {
    const [ref, , digest] = line.trim().split(/\s+/);
    if (ref === wanted && digest?.startsWith("sha256:")) return digest;
  }
  return undefined;
}

/** Docker's normalisation of a short reference: "iris:1" is docker.io/library/iris:1, "me/iris:1" docker.io/me/iris:1. */
export function fullReference(reference: string): string {
  const slash = reference.indexOf("/");
  const first = slash === -1 ? "" : reference.slice(0, slash);
  if (first && (first.includes(".") || first.includes(":") || first === "localhost")) return reference;
  return slash === -1 ? `docker.io/library/${reference}` : `docker.io/${reference}`;
}

/** The node's command for containerd's record of a reference (what kind's and minikube's own checks run). */
export function ctrListCommand(reference: string): string[] {
  return ["ctr", "--namespace=k8s.io", "images", "ls", `name==${fullReference(reference)}`];
}
