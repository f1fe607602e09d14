/**
 * A newer Docker engine than the main one (Debian's 20.10): Docker 26 with the containerd image
 * store, the default of fresh Docker 29 and Desktop installs, which scripts/setup-engine.sh runs
 * beside the first on its own socket, with its own containerd 1.7. What differs there for mlkube:
 * the engine's own Dockerfile frontend reads heredocs, and an image's ID is the digest of its
 * manifest or index, not of its config.
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import Dockerode from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { matchLoadedImage, ctrTargetDigest, ctrListCommand, fullReference } from "../../src/adapters/cluster/loaded-image.js";
import { ImageBuilder } from "../../src/adapters/docker/build.js";
import { addDevLayer } from "../../src/adapters/docker/dev-layer.js";
import { docker, engine, engineAvailable, uniqueName } from "../support/engine.js";

const run = promisify(execFile);
const NEWER_RUN = "/run/mlkube-docker26";
const NEWER_HOST = `unix://${NEWER_RUN}/docker.sock`;
const CTR = "/opt/mlkube-docker26/bin/ctr";
const newerDocker = new Dockerode({ socketPath: `${NEWER_RUN}/docker.sock` });
const newerEngine = { client: newerDocker, cliEnv: { DOCKER_HOST: NEWER_HOST, DOCKER_CONTEXT: undefined } };

const hasNewer = await newerDocker.version().then(
  (version) => Number(version.Version.split(".")[0]) >= 23,
  () => false,
);
// CI must run these: a missing second engine is a broken set-up, not a reason to skip.
if (process.env.CI && !hasNewer) throw new Error(`no Docker 23+ engine answers on ${NEWER_HOST}: scripts/setup-engine.sh starts one`);
const hasMain = await engineAvailable();

describe.runIf(hasNewer)("Docker 26 with the containerd image store", () => {
  let dir: string;
  const repositories: string[] = [];
  const containerdRefs: string[] = [];
  const image = async (builder: ImageBuilder, repository: string, dockerfile = "Dockerfile") => {
    repositories.push(repository);
    return builder.build({ contextDir: dir, dockerfile: join(dir, dockerfile), buildArgs: {}, repository });
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "mlkube-newer-engine-"));
    // No base image: the second engine has none, and nothing can be pulled here.
    await writeFile(
      join(dir, "Dockerfile"),
      `FROM scratch\nCOPY <<EOT /hello.txt\nhello from a heredoc ${uniqueName("run")}\nEOT\nCOPY app.py /\nEXPOSE 8080\nCMD ["/app.py"]\n`,
    );
    await writeFile(join(dir, "app.py"), "print('hi')\n");
    // For the main engine too, whose frontend (20.10) reads no heredocs.
    await writeFile(join(dir, "Dockerfile.plain"), `FROM scratch\nCOPY app.py /\nLABEL run=${uniqueName("run")}\nEXPOSE 8080\nCMD ["/app.py"]\n`);
  });
  afterAll(async () => {
    for (const reference of containerdRefs)
      await run(CTR, ["-a", `${NEWER_RUN}/containerd.sock`, "-n", "k8s.io", "images", "rm", reference]).catch(() => undefined);
    for (const repository of repositories) {
      for (const client of [newerDocker, docker]) {
        const images = await client.listImages({ filters: JSON.stringify({ reference: [repository] }) }).catch(() => []);
        for (const image of images)
          for (const tag of image.RepoTags ?? [])
            await client
              .getImage(tag)
              .remove({ force: true })
              .catch(() => undefined);
      }
    }
    await rm(dir, { recursive: true, force: true });
  });

  it("builds a heredoc with the engine's own frontend, and finds the image again by its content tag", async () => {
    const builder = new ImageBuilder(newerEngine);
    const repository = uniqueName("mlkube-test-newer");
    const built = await image(builder, repository);
    expect(built).toMatchObject({ cached: false, builder: "buildkit", totalSteps: 2 });
    expect((await builder.builder()).detail).toMatch(/^BuildKit on Docker 26\./);
    // The file the heredoc wrote is in the image.
    const container = await newerDocker.createContainer({ Image: built.reference });
    try {
      const { stdout } = await run("sh", ["-c", `docker cp ${container.id}:/hello.txt - | tar -xO`], { env: { ...process.env, DOCKER_HOST: NEWER_HOST } });
      expect(stdout).toMatch(/^hello from a heredoc run-/);
    } finally {
      await container.remove({ force: true });
    }
    const again = await image(builder, repository);
    expect(again).toMatchObject({ cached: true, reference: built.reference, imageId: built.imageId });
  });

  it("names the image by its manifest or index digest, and the dev layer builds on it", async () => {
    const builder = new ImageBuilder(newerEngine);
    const repository = uniqueName("mlkube-test-newer-dev");
    const built = await image(builder, repository);
    const saved = await savedDigests(NEWER_HOST, built.reference);
    // The containerd store: the ID is the image's target (what `docker save` indexes), not its config.
    expect(built.imageId).toBe(saved.target);
    expect(built.imageId).not.toBe(saved.config);
    const dev = await addDevLayer(newerDocker, { imageId: built.imageId, repository, tag: built.tag }, { buildkit: await builder.buildkit() });
    const config = (await newerDocker.getImage(dev.reference).inspect()).Config;
    expect(config.Entrypoint?.slice(0, 2)).toEqual(["/bin/sh", "/usr/local/lib/mlkube-live/start.sh"]);
    expect(config.Cmd).toEqual(["/app.py"]);
  });

  it("matches an image loaded into a node's containerd by either digest: the target for this store, the config for the classic one", async () => {
    const stores: { name: string; host: string; builder: ImageBuilder; expected: string }[] = [
      { name: "containerd store", host: NEWER_HOST, builder: new ImageBuilder(newerEngine), expected: "target digest (containerd)" },
    ];
    if (hasMain)
      stores.push({ name: "classic store", host: "unix:///var/run/docker.sock", builder: new ImageBuilder(engine), expected: "config digest (CRI)" });
    for (const store of stores) {
      const built = await image(store.builder, uniqueName("mlkube-test-load"), "Dockerfile.plain");
      const saved = await savedDigests(store.host, built.reference);
      // What `kind load` does on a node: the `docker save` imported into containerd's k8s.io namespace.
      await run("sh", ["-c", `docker save ${built.reference} | ${CTR} -a ${NEWER_RUN}/containerd.sock -n k8s.io images import --all-platforms --digests -`], {
        env: { ...process.env, DOCKER_HOST: store.host },
      });
      containerdRefs.push(fullReference(built.reference));
      const [, ...listArgs] = ctrListCommand(built.reference);
      const { stdout } = await run(CTR, ["-a", `${NEWER_RUN}/containerd.sock`, ...listArgs]);
      const node = { criImageId: saved.config, containerdTarget: ctrTargetDigest(stdout, built.reference) };
      expect(node.containerdTarget, store.name).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(matchLoadedImage(built.imageId, node), store.name).toBe(store.expected);
      // A different image matches neither digest.
      expect(matchLoadedImage(built.imageId, { criImageId: `sha256:${"0".repeat(64)}`, containerdTarget: `sha256:${"1".repeat(64)}` })).toBeUndefined();
    }
  });
});

/**
 * The image's config digest (what a node's CRI reports) and, for an OCI `docker save`, the digest
 * its index.json names (what the containerd store calls the image).
 */
async function savedDigests(host: string, reference: string): Promise<{ config: string; target?: string }> {
  const env = { ...process.env, DOCKER_HOST: host };
  const manifest = JSON.parse((await run("sh", ["-c", `docker save ${reference} | tar -xO manifest.json`], { env })).stdout) as { Config: string }[];
  const config = `sha256:${(manifest[0]?.Config ?? "").replace(/^blobs\/sha256\//, "").replace(/\.json$/, "")}`;
  const index = await run("sh", ["-c", `docker save ${reference} | tar -xO index.json 2>/dev/null`], { env }).then(
    (result) => JSON.parse(result.stdout) as { manifests: { digest: string }[] },
    () => undefined,
  );
  return { config, target: index?.manifests[0]?.digest };
}
