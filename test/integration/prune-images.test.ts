import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listBuiltImages, pruneEngineImages } from "../../src/adapters/docker/prune-images.js";
import { docker, engineAvailable, removeRepository, uniqueName } from "../support/engine.js";

const hasEngine = await engineAvailable();

describe.runIf(hasEngine)("pruning old images on the real Docker engine", () => {
  const repository = uniqueName("mlkube-test-prune");
  const other = uniqueName("mlkube-test-prune-other");
  const tag = (n: number) => `${n}`.repeat(16);
  let context: string;

  /** A small image as mlkube labels its builds, with 64 KiB of its own. */
  const build = async (reference: string, labels: Record<string, string>) => {
    await writeFile(join(context, "weights.bin"), randomBytes(64 * 1024));
    const labelArgs = Object.entries(labels).flatMap(([key, value]) => ["--label", `${key}=${value}`]);
    execFileSync("docker", ["build", "-q", "-t", reference, ...labelArgs, context], { env: { ...process.env, DOCKER_BUILDKIT: "0" }, stdio: "pipe" });
    // The engine lists creation times in whole seconds: one per second keeps the order known.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
  };

  beforeAll(async () => {
    context = await mkdtemp(join(tmpdir(), "mlkube-prune-"));
    await writeFile(join(context, "Dockerfile"), "FROM scratch\nCOPY weights.bin /\n");
    const ours = { "dev.mlkube.managed": "true", "dev.mlkube.model": "iris" };
    for (const n of [1, 2, 3, 4]) await build(`${repository}:${tag(n)}`, ours);
    await build(`${repository}:latest`, ours);
    await build(`${other}:${tag(5)}`, { "dev.mlkube.managed": "true", "dev.mlkube.model": "churn" });
  }, 120_000);

  afterAll(async () => {
    await removeRepository(repository);
    await removeRepository(other);
    if (context) await rm(context, { recursive: true, force: true });
  });

  it("lists mlkube's images with their own size", async () => {
    const listed = (await listBuiltImages(docker)).filter((image) => image.reference.startsWith(`${repository}:`));
    expect(listed.map((image) => image.reference).sort()).toEqual([...[1, 2, 3, 4].map((n) => `${repository}:${tag(n)}`), `${repository}:latest`].sort());
    for (const image of listed) expect(image.sizeBytes).toBeGreaterThanOrEqual(64 * 1024);
  });

  it("removes the old content-tagged images but the newest and the running one, and says what it reclaimed", async () => {
    const result = await pruneEngineImages(docker, { model: "iris", repository, running: [`${repository}:${tag(1)}`], keep: 1 });
    expect(result.removed.sort()).toEqual([`${repository}:${tag(2)}`, `${repository}:${tag(3)}`]);
    expect(result.failed).toEqual([]);
    expect(result.reclaimedBytes).toBeGreaterThanOrEqual(2 * 64 * 1024);
    const left = (await docker.listImages({ filters: JSON.stringify({ reference: [repository, other] }) })).flatMap((image) => image.RepoTags ?? []);
    expect(left.sort()).toEqual([`${other}:${tag(5)}`, `${repository}:${tag(1)}`, `${repository}:${tag(4)}`, `${repository}:latest`].sort());
  });

  it("with registry delivery, frees the images under both their names: as built and as pushed", async () => {
    const built = uniqueName("mlkube-test-prune-built");
    const pushed = `localhost:5999/${built}`;
    for (const n of [1, 2, 3, 4]) {
      await build(`${built}:${tag(n)}`, { "dev.mlkube.managed": "true", "dev.mlkube.model": "iris" });
      execFileSync("docker", ["tag", `${built}:${tag(n)}`, `${pushed}:${tag(n)}`]);
    }
    try {
      // The pods name the pushed image; its built name must stay too.
      const result = await pruneEngineImages(docker, { model: "iris", repository: pushed, running: [`${pushed}:${tag(1)}`], keep: 1 }, built);
      expect(result.removed.sort()).toEqual([`${built}:${tag(2)}`, `${built}:${tag(3)}`, `${pushed}:${tag(2)}`, `${pushed}:${tag(3)}`].sort());
      expect(result.removedImages).toHaveLength(2);
      expect(result.reclaimedBytes).toBeGreaterThanOrEqual(2 * 64 * 1024);
      const left = (await docker.listImages({ filters: JSON.stringify({ reference: [built, pushed] }) })).flatMap((image) => image.RepoTags ?? []);
      expect(left.sort()).toEqual([`${built}:${tag(1)}`, `${built}:${tag(4)}`, `${pushed}:${tag(1)}`, `${pushed}:${tag(4)}`].sort());
    } finally {
      await removeRepository(pushed);
      await removeRepository(built);
    }
  }, 60_000);
});
