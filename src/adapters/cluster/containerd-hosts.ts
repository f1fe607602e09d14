/**
 * Whether a kind node's containerd reads per-registry `hosts.toml` files, and from where: the only
 * way a node resolves `localhost:5001/...` to the registry container (kind docs, "Local Registry").
 * Read from `containerd config dump`, the effective configuration, as kind itself reads its nodes'
 * snapshotter (kind pkg/cluster/nodeutils/util.go, getSnapshotter).
 *
 * - containerd 1.x (config version 2; kind node images before v0.27, which ship containerd 1.7):
 *   hosts directories come only from `plugins."io.containerd.grpc.v1.cri".registry.config_path`,
 *   which is empty unless the cluster was created with kind's `containerdConfigPatches` entry.
 * - containerd 2.x (config version 3+; kind v0.27+ images ship 2.0): the images plugin's
 *   `config_path`, and when that is empty containerd's default hosts directories; kind's docs say
 *   the patch "is not necessary with images from kind v0.27.0+" (site/static/examples/kind-with-registry.sh).
 */
import { parse } from "smol-toml";

export type HostsSupport = { reads: true; hostsDir: string } | { reads: false; why: string } | { reads: "unknown"; why: string };

/** containerd 2.x's default hosts directories, in lookup order. */
const CONTAINERD2_DEFAULT_HOSTS_DIRS = ["/etc/containerd/certs.d", "/etc/docker/certs.d"];

export function hostsSupport(configDump: string): HostsSupport {
  let config: Record<string, unknown>;
  try {
    config = parse(configDump);
  } catch (error) {
    return { reads: "unknown", why: `containerd's configuration could not be read (${(error as Error).message.split("\n")[0]})` };
  }
  const version = typeof config.version === "number" || typeof config.version === "bigint" ? Number(config.version) : 1;
  if (version <= 2) {
    const configPath = registryConfigPath(config, "io.containerd.grpc.v1.cri");
    const dirs = splitDirs(configPath);
    if (dirs.length === 0) {
      return {
        reads: false,
        why: "its containerd (1.x) has no registry config_path, so it ignores hosts.toml (kind node images before v0.27, in a cluster created without kind's containerdConfigPatches entry)",
      };
    }
    return { reads: true, hostsDir: dirs[0] as string };
  }
  const dirs = splitDirs(registryConfigPath(config, "io.containerd.cri.v1.images"));
  return { reads: true, hostsDir: (dirs.length > 0 ? dirs : CONTAINERD2_DEFAULT_HOSTS_DIRS)[0] as string };
}

function registryConfigPath(config: Record<string, unknown>, plugin: string): string {
  const plugins = config.plugins as Record<string, { registry?: { config_path?: unknown } }> | undefined;
  const value = plugins?.[plugin]?.registry?.config_path;
  return typeof value === "string" ? value : "";
}

/** config_path is a list of directories separated like PATH. */
function splitDirs(configPath: string): string[] {
  return configPath
    .split(":")
    .map((dir) => dir.trim())
    .filter((dir) => dir.length > 0);
}
