/**
 * The two images the simulator needs and nothing can pull on the build machines (no registry is reachable):
 * - the node image: a debootstrapped Debian with a Docker engine (images/build-node-rootfs.sh, about
 *   70 s, built once) plus a thin layer with the node's entrypoint (rebuilt in a second whenever the
 *   entrypoint changes, recognised by a recipe hash label);
 * - `registry:2`, the image mlkube (and the kind docs) run as the local registry, made from Debian's
 *   `docker-registry` binary, the two libraries it links, and the upstream image's config and
 *   entrypoint script.
 * Images are kept across `sim down` (they are a cache); `sim down --images` removes them.
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFile, chmod, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import tar from "tar-fs";
import { followProgress, hostDocker, isNotFound } from "./docker.js";
import { kindNodeContainerdConfig } from "./node/containerd-config.js";
import { SIM_DIR } from "./state.js";

export const NODE_IMAGE = "mlkube-sim/node:bookworm";
export const NODE_ROOTFS_IMAGE = "mlkube-sim/node-rootfs:bookworm";
export const REGISTRY_IMAGE = "registry:2";
const IMAGE_LABEL = "io.mlkube.sim.image";
const RECIPE_LABEL = "io.mlkube.sim.recipe";

const run = promisify(execFile);
type Log = (line: string) => void;

async function imageLabels(image: string): Promise<Record<string, string> | undefined> {
  try {
    return (await hostDocker.getImage(image).inspect()).Config.Labels ?? {};
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/** Builds an image from files laid out in a scratch directory (the classic builder, as in tests). */
async function buildFromDir(dir: string, tag: string): Promise<void> {
  const context = tar.pack(dir, { map: (header) => ({ ...header, uid: 0, gid: 0 }) });
  const stream = await hostDocker.buildImage(context as unknown as NodeJS.ReadableStream, { t: tag, rm: true, forcerm: true });
  await followProgress(hostDocker, stream);
}

async function withScratchDir<T>(work: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), "mlkube-sim-build-"));
  try {
    return await work(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function ensureNodeImage(log: Log = () => undefined): Promise<void> {
  if (!(await imageLabels(NODE_ROOTFS_IMAGE))) {
    log(`building ${NODE_ROOTFS_IMAGE} (debootstrap, about 70 s)`);
    const started = Date.now();
    await run("bash", [join(SIM_DIR, "images/build-node-rootfs.sh"), NODE_ROOTFS_IMAGE], { maxBuffer: 16 * 1024 * 1024 });
    log(`built ${NODE_ROOTFS_IMAGE} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
  const entrypoint = await readFile(join(SIM_DIR, "images/node-entrypoint.sh"));
  const crictl = await readFile(join(SIM_DIR, "images/crictl.sh"));
  const containerd = await readFile(join(SIM_DIR, "images/containerd.sh"));
  const rootfsId = (await hostDocker.getImage(NODE_ROOTFS_IMAGE).inspect()).Id;
  // Debian's containerd package ships its own config.toml (no config_path): a node that no kind
  // create rewrites (minikube's, the runtime tests') gets what current kind node images have instead.
  const containerdConfig = kindNodeContainerdConfig(undefined, []);
  const recipe = createHash("sha256").update(entrypoint).update(crictl).update(containerd).update(containerdConfig).update(rootfsId).digest("hex").slice(0, 16);
  if ((await imageLabels(NODE_IMAGE))?.[RECIPE_LABEL] === recipe) return;
  log(`building ${NODE_IMAGE}`);
  await withScratchDir(async (dir) => {
    await mkdir(join(dir, "etc/containerd/certs.d"), { recursive: true });
    await writeFile(join(dir, "etc/containerd/config.toml"), containerdConfig);
    await mkdir(join(dir, "kind"), { recursive: true });
    await writeFile(join(dir, "kind/version"), "v1.32.2\n");
    await writeFile(join(dir, "entrypoint"), entrypoint, { mode: 0o755 });
    await writeFile(join(dir, "crictl"), crictl, { mode: 0o755 });
    await writeFile(join(dir, "containerd"), containerd, { mode: 0o755 });
    await writeFile(
      join(dir, "Dockerfile"),
      [
        `FROM ${NODE_ROOTFS_IMAGE}`,
        "COPY etc/ /etc/",
        "COPY kind/ /kind/",
        "COPY entrypoint /usr/local/bin/entrypoint",
        // kind nodes have crictl; mlkube uses it to verify a load by image ID.
        "COPY crictl /usr/local/bin/crictl",
        // mlkube asks `containerd config dump` where the node reads hosts.toml; kind writes the config at create.
        "COPY containerd /usr/local/bin/containerd",
        'ENTRYPOINT ["/usr/local/bin/entrypoint"]',
        `LABEL ${IMAGE_LABEL}=node ${RECIPE_LABEL}=${recipe}`,
        "",
      ].join("\n"),
    );
    await chmod(join(dir, "entrypoint"), 0o755);
    await chmod(join(dir, "crictl"), 0o755);
    await chmod(join(dir, "containerd"), 0o755);
    await buildFromDir(dir, NODE_IMAGE);
  });
}

/** The upstream image's entrypoint: a config file argument means `registry serve FILE`. */
const REGISTRY_ENTRYPOINT = `#!/bin/sh
set -e
case "$1" in
    *.yaml|*.yml) set -- registry serve "$@" ;;
    serve|garbage-collect|help|-*) set -- registry "$@" ;;
esac
exec "$@"
`;

/** The upstream image's /etc/docker/registry/config.yml. */
const REGISTRY_CONFIG = `version: 0.1
log:
  fields:
    service: registry
storage:
  cache:
    blobdescriptor: inmemory
  filesystem:
    rootdirectory: /var/lib/registry
http:
  addr: :5000
  headers:
    X-Content-Type-Options: [nosniff]
health:
  storagedriver:
    enabled: true
    interval: 10s
    threshold: 3
`;

export async function ensureRegistryImage(log: Log = () => undefined): Promise<void> {
  // Whatever answers to registry:2 is used as is (a real one, if someone loaded it, is better).
  if (await imageLabels(REGISTRY_IMAGE)) return;
  log(`building ${REGISTRY_IMAGE} from Debian's docker-registry`);
  await withScratchDir(async (dir) => {
    const root = join(dir, "rootfs");
    for (const sub of ["bin", "lib/x86_64-linux-gnu", "lib64", "etc/docker/registry", "var/lib/registry", "tmp"]) {
      await mkdir(join(root, sub), { recursive: true });
    }
    // copyFile follows symlinks, so the image gets the libraries themselves.
    await copyFile("/usr/bin/docker-registry", join(root, "bin/registry"));
    await copyFile("/bin/dash", join(root, "bin/sh"));
    await copyFile("/lib/x86_64-linux-gnu/libc.so.6", join(root, "lib/x86_64-linux-gnu/libc.so.6"));
    await copyFile("/lib64/ld-linux-x86-64.so.2", join(root, "lib64/ld-linux-x86-64.so.2"));
    await writeFile(join(root, "etc/docker/registry/config.yml"), REGISTRY_CONFIG);
    await writeFile(join(root, "entrypoint.sh"), REGISTRY_ENTRYPOINT, { mode: 0o755 });
    for (const file of ["bin/registry", "bin/sh", "lib64/ld-linux-x86-64.so.2", "entrypoint.sh"]) await chmod(join(root, file), 0o755);
    await writeFile(
      join(dir, "Dockerfile"),
      [
        "FROM scratch",
        "COPY rootfs/ /",
        "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        'VOLUME ["/var/lib/registry"]',
        "EXPOSE 5000",
        'ENTRYPOINT ["/entrypoint.sh"]',
        'CMD ["/etc/docker/registry/config.yml"]',
        `LABEL ${IMAGE_LABEL}=registry`,
        "",
      ].join("\n"),
    );
    await buildFromDir(dir, REGISTRY_IMAGE);
  });
}

/** `sim down --images`: the images this module built (identified by label, never others). */
export async function removeSimImages(): Promise<string[]> {
  const removed: string[] = [];
  for (const image of [NODE_IMAGE, NODE_ROOTFS_IMAGE, REGISTRY_IMAGE]) {
    const labels = await imageLabels(image);
    const ours = labels?.[IMAGE_LABEL] !== undefined || image === NODE_ROOTFS_IMAGE;
    if (labels && ours) {
      await hostDocker
        .getImage(image)
        .remove({ force: true })
        .catch(() => undefined);
      removed.push(image);
    }
  }
  return removed;
}
