// Pruning old images from a real local registry: the registry:2 image the simulator's set-up
// builds from Debian's docker-registry (distribution 2.8), started by mlkube's own ensureRegistry
// under a name and port of its own, images pushed by the real engine, garbage collected by the
// registry's own `garbage-collect` in its container.
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureRegistry, collectableRegistryOn } from "../../src/adapters/cluster/local-registry.js";
import { RegistryPruner } from "../../src/adapters/registry/prune-registry.js";
import { registryLockDir, whilePushing } from "../../src/adapters/registry/registry-lock.js";
import { closedPort } from "../support/closed-port.js";
import { docker, engineAvailable, removeRepository, uniqueName } from "../support/engine.js";

const REGISTRY_IMAGE = "registry:2";
const hasEngine = await engineAvailable();
const hasRegistryImage =
  hasEngine &&
  (await docker
    .getImage(REGISTRY_IMAGE)
    .inspect()
    .then(
      () => true,
      () => false,
    ));
// As doctor-fix.test.ts: in CI the e2e set-up builds registry:2 first, so a skip would hide a test that never ran.
if (!hasRegistryImage && process.env.CI)
  throw new Error(`CI=true but ${REGISTRY_IMAGE} is missing: 'npm test' builds it in the e2e set-up (test/sim/images.ts).`);

describe.runIf(hasRegistryImage)("pruning old images from the local registry", () => {
  const settings = { container: uniqueName("mlkube-test-registry"), hostPort: 0, image: REGISTRY_IMAGE };
  const withoutDeletes = uniqueName("mlkube-test-registry-nodelete");
  const name = uniqueName("iris-prune");
  const tag = (n: number) => `${n}`.repeat(16);
  let host: string;
  let context: string;
  let home: string;
  const savedHome = process.env.MLKUBE_HOME;

  /** Builds an image with 64 KiB of its own, labelled as mlkube labels its builds, and pushes it. */
  const push = async (reference: string, model = "iris") => {
    await writeFile(join(context, "weights.bin"), randomBytes(64 * 1024));
    execFileSync("docker", ["build", "-q", "-t", reference, "--label", "dev.mlkube.managed=true", "--label", `dev.mlkube.model=${model}`, context], {
      env: { ...process.env, DOCKER_BUILDKIT: "0" },
      stdio: "pipe",
    });
    execFileSync("docker", ["push", "-q", reference], { stdio: "pipe" });
    // Config creation times are in whole seconds: one per second keeps the order known.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
  };
  const tags = async (registry = host) => ((await (await fetch(`http://${registry}/v2/${name}/tags/list`)).json()) as { tags: string[] }).tags.sort();
  const digestOf = async (reference: string) => {
    const response = await fetch(`http://${host}/v2/${name}/manifests/${reference}`, {
      method: "HEAD",
      headers: { accept: "application/vnd.docker.distribution.manifest.v2+json" },
    });
    return response.headers.get("docker-content-digest")!;
  };
  const layerOf = async (reference: string) => {
    const response = await fetch(`http://${host}/v2/${name}/manifests/${reference}`, {
      headers: { accept: "application/vnd.docker.distribution.manifest.v2+json" },
    });
    return ((await response.json()) as { layers: { digest: string; size: number }[] }).layers.at(-1)!;
  };
  const blobStatus = async (digest: string) => (await fetch(`http://${host}/v2/${name}/blobs/${digest}`, { method: "HEAD" })).status;

  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), "mlkube-home-"));
    process.env.MLKUBE_HOME = home;
    context = await mkdtemp(join(tmpdir(), "mlkube-prune-registry-"));
    await writeFile(join(context, "Dockerfile"), "FROM scratch\nCOPY weights.bin /\n");
    settings.hostPort = await closedPort();
    await ensureRegistry(docker, settings);
    host = `127.0.0.1:${settings.hostPort}`;
    await registryAnswers(host);
  }, 60_000);

  afterAll(async () => {
    for (const container of [settings.container, withoutDeletes])
      await docker
        .getContainer(container)
        .remove({ force: true })
        .catch(() => undefined);
    await removeRepository(`${host}/${name}`);
    if (savedHome === undefined) delete process.env.MLKUBE_HOME;
    else process.env.MLKUBE_HOME = savedHome;
    for (const dir of [context, home]) if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("deletes what the rule lets go, keeps what runs and the newest three, and counts the layers the collector freed", async () => {
    for (const n of [1, 2, 3, 4, 5, 6]) await push(`${host}/${name}:${tag(n)}`);
    await push(`${host}/${name}:latest`);
    const runningDigest = await digestOf(tag(1));
    const freed = [await layerOf(tag(2)), await layerOf(tag(3))];
    const kept = await layerOf(tag(4));

    const container = await collectableRegistryOn(docker, settings.hostPort);
    expect(container).toBe(settings.container);
    const pruner = new RegistryPruner(docker, { host, pullAs: host, container });
    // As a pod's imageID names what it pulled: by digest.
    const result = await pruner.prune({ model: "iris", repository: `${host}/${name}`, running: [`${host}/${name}@${runningDigest}`] });

    expect(result.removed.sort()).toEqual([`${host}/${name}:${tag(2)}`, `${host}/${name}:${tag(3)}`]);
    expect(result.unsupported).toBeUndefined();
    expect(await tags()).toEqual([tag(1), tag(4), tag(5), tag(6), "latest"].sort());
    for (const layer of freed) expect(await blobStatus(layer.digest)).toBe(404);
    expect(await blobStatus(kept.digest)).toBe(200);
    // The two 64 KiB layers (random, so they do not compress) and their configs.
    expect(result.reclaimedBytes).toBeGreaterThanOrEqual(freed[0]!.size + freed[1]!.size);
    expect(result.reclaimedBytes).toBeLessThan(freed[0]!.size + freed[1]!.size + 8_192);

    // Pushed again (a revert to that version): the engine must upload the collected layer again,
    // which it does only if the registry no longer claims to have it.
    execFileSync("docker", ["push", "-q", `${host}/${name}:${tag(2)}`], { stdio: "pipe" });
    const again = await fetch(`http://${host}/v2/${name}/blobs/${freed[0]!.digest}`);
    expect(again.status).toBe(200);
    expect((await again.arrayBuffer()).byteLength).toBe(freed[0]!.size);
  }, 120_000);

  it("does not collect while a push is under way, and gives the space back on the next pass", async () => {
    await push(`${host}/${name}:${tag(7)}`);
    const layer = await layerOf(tag(4)); // with 7 pushed, 4 is no longer among the newest three
    let finishPush!: () => void;
    const pushing = whilePushing(registryLockDir(host), () => new Promise<void>((resolve) => (finishPush = resolve)));
    const pruner = new RegistryPruner(docker, { host, pullAs: host, container: settings.container });
    const scope = { model: "iris", repository: `${host}/${name}`, running: [] };
    const during = await pruner.prune(scope);
    expect(during.removed).toContain(`${host}/${name}:${tag(4)}`);
    expect(during.reclaimedBytes).toBe(0);
    expect(await blobStatus(layer.digest)).toBe(200); // unlinked from the tag, still on disk

    finishPush();
    await pushing;
    const after = await pruner.prune(scope);
    expect(after.removed).toEqual([]);
    expect(after.reclaimedBytes).toBeGreaterThanOrEqual(layer.size);
    expect(await blobStatus(layer.digest)).toBe(404);
  }, 120_000);

  it("says the registry refuses deletes when it runs as the registry:2 image does by default", async () => {
    const port = await closedPort();
    const created = await docker.createContainer({
      name: withoutDeletes,
      Image: REGISTRY_IMAGE,
      HostConfig: { PortBindings: { "5000/tcp": [{ HostIp: "127.0.0.1", HostPort: String(port) }] } },
    });
    await created.start();
    const plain = `127.0.0.1:${port}`;
    await registryAnswers(plain);
    for (const n of [1, 2, 3, 4, 5]) await push(`${plain}/${name}:${tag(n)}`);
    expect(await collectableRegistryOn(docker, port)).toBeUndefined(); // its collector would leave a stale cache
    const result = await new RegistryPruner(docker, { host: plain, pullAs: plain, container: withoutDeletes }).prune({
      model: "iris",
      repository: `${plain}/${name}`,
      running: [],
    });
    expect(result.unsupported).toBe(`the registry ${plain} does not allow deletes (it runs without storage.delete.enabled)`);
    expect(result.removed).toEqual([]);
    expect(await tags(plain)).toHaveLength(5);
    await removeRepository(`${plain}/${name}`);
  }, 120_000);
});

async function registryAnswers(host: string): Promise<void> {
  for (const started = Date.now(); Date.now() - started < 15_000; await new Promise((resolve) => setTimeout(resolve, 200))) {
    if ((await fetch(`http://${host}/v2/`, { signal: AbortSignal.timeout(1_000) }).catch(() => undefined))?.status === 200) return;
  }
  throw new Error(`the registry on ${host} did not answer within 15 s`);
}
