/**
 * The containerd configuration of a simulated kind node, and the one part of it the simulator
 * obeys: where containerd looks for per-registry hosts.toml files.
 *
 * Two node-image generations, both still in use:
 * - before kind v0.27 (containerd 1.7.24 in v0.26.0's images/base/Dockerfile): config version 2,
 *   and the CRI registry's `config_path` is empty, as `containerd config dump` prints it (kind
 *   pkg/cluster/nodeutils/util_test.go), so hosts.toml is ignored unless the cluster was created
 *   with the `containerdConfigPatches` entry kind's local-registry guide gives;
 * - kind v0.27+ (containerd 2.0.2): version 3, and hosts directories are read without any patch
 *   ("the containerd config patch is not necessary with images from kind v0.27.0+",
 *   site/static/examples/kind-with-registry.sh).
 * kind applies `containerdConfigPatches` as TOML merge patches onto the node's config.toml
 * (pkg/internal/patch/toml.go: TOML → JSON, RFC 7386 merge patch, → TOML).
 */
import { parse, stringify } from "smol-toml";

/** kind v0.27.0's default node image (pkg/apis/config/defaults/image.go at v0.27.0). */
const FIRST_CONTAINERD2_NODE = [1, 32, 2];

const CONTAINERD1_CONFIG = {
  version: 2,
  plugins: { "io.containerd.grpc.v1.cri": { registry: { config_path: "" } } },
};

const CONTAINERD2_CONFIG = {
  version: 3,
  plugins: { "io.containerd.cri.v1.images": { registry: { config_path: "" } } },
};

/** containerd 2.x's hosts directories when config_path is empty. */
const CONTAINERD2_DEFAULT_HOSTS_DIRS = ["/etc/containerd/certs.d", "/etc/docker/certs.d"];

/**
 * Whether `--image` names a node image from before kind v0.27. The simulator goes by the tag alone
 * (kindest/node:v1.31.4 is taken as kind v0.26's); kind v0.27+ also rebuilt some older Kubernetes
 * versions, which differ only by digest, and those are taken as older here (the harsher choice).
 */
export function isContainerd1NodeImage(image: string | undefined): boolean {
  const tag = image?.match(/:v(\d+)\.(\d+)\.(\d+)/);
  if (!tag) return false;
  const version = tag.slice(1, 4).map(Number);
  for (const [index, part] of version.entries()) {
    const first = FIRST_CONTAINERD2_NODE[index] as number;
    if (part !== first) return part < first;
  }
  return false;
}

/** /etc/containerd/config.toml of a node made from IMAGE with kind's containerdConfigPatches applied. */
export function kindNodeContainerdConfig(image: string | undefined, patches: readonly string[]): string {
  let config: unknown = structuredClone(isContainerd1NodeImage(image) ? CONTAINERD1_CONFIG : CONTAINERD2_CONFIG);
  for (const [index, patch] of patches.entries()) {
    let parsed: unknown;
    try {
      parsed = parse(patch);
    } catch (error) {
      throw new Error(`failed to apply containerdConfigPatches[${index}]: ${(error as Error).message.split("\n")[0]}`);
    }
    config = mergePatch(config, parsed);
  }
  return stringify(config as Record<string, unknown>);
}

/** RFC 7386: objects merge key by key, null deletes, anything else replaces. */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return patch;
  const result: Record<string, unknown> = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key], value);
  }
  return result;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The directories containerd searches for `<host>/hosts.toml`, in order; empty: it reads none. */
export function containerdHostsDirs(configText: string): string[] {
  const config = parse(configText) as { version?: number; plugins?: Record<string, { registry?: { config_path?: string } }> };
  const version = Number(config.version ?? 1);
  const plugin = version >= 3 ? "io.containerd.cri.v1.images" : "io.containerd.grpc.v1.cri";
  const dirs = (config.plugins?.[plugin]?.registry?.config_path ?? "").split(":").filter((dir) => dir.length > 0);
  return dirs.length > 0 || version < 3 ? dirs : CONTAINERD2_DEFAULT_HOSTS_DIRS;
}
