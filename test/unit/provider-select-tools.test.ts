/**
 * Cluster tool detection: the PATH first, then mlkube's cache (~/.mlkube/bin, where
 * `mlkube doctor --fix` installs a verified kind); a tool found only in the cache is run by its
 * full path, so the user's PATH never has to change.
 */
import { chmod, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { connectDocker } from "../../src/adapters/docker/client.js";
import type { KindProvider } from "../../src/adapters/cluster/kind.js";
import { findTool, selectProvider } from "../../src/adapters/cluster/select.js";
import { configSchema } from "../../src/config/schema.js";
import { recordingExec } from "../support/recording-exec.js";

let root: string;
let pathDir: string;
let binDir: string;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "mlkube-tools-"));
  pathDir = join(root, "path");
  binDir = join(root, "home", ".mlkube", "bin");
  await Promise.all([pathDir, binDir].map((dir) => mkdir(dir, { recursive: true })));
  // No kube context: detection falls back to the installed tools.
  await writeFile(join(root, "kubeconfig"), "apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n");
  vi.stubEnv("KUBECONFIG", join(root, "kubeconfig"));
});
afterEach(async () => {
  vi.unstubAllEnvs();
  await rm(root, { recursive: true, force: true });
});

async function tool(dir: string, name: string, mode = 0o755): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, "#!/bin/sh\nexit 0\n");
  await chmod(path, mode);
  return path;
}

describe("findTool", () => {
  it.each<[string, { path?: boolean; cache?: boolean; cacheMode?: number }, "name" | "cache" | undefined]>([
    ["on the PATH only", { path: true }, "name"],
    ["in the cache only", { cache: true }, "cache"],
    ["in both: the PATH comes first", { path: true, cache: true }, "name"],
    ["in the cache but not executable", { cache: true, cacheMode: 0o644 }, undefined],
    ["nowhere", {}, undefined],
  ])("%s", async (_name, where, expected) => {
    if (where.path) await tool(pathDir, "kind");
    if (where.cache) await tool(binDir, "kind", where.cacheMode);
    const found = await findTool("kind", { PATH: `/nonexistent:${pathDir}` }, binDir);
    expect(found).toBe(expected === "name" ? "kind" : expected === "cache" ? join(binDir, "kind") : undefined);
  });
});

describe("selectProvider with kind only in ~/.mlkube/bin", () => {
  const settings = () => {
    const config = configSchema.parse({});
    return { cluster: config.cluster, service: config.service };
  };
  const docker = connectDocker({ DOCKER_HOST: "unix:///nonexistent/docker.sock" });

  it("picks kind and runs it by its full path", async () => {
    const cached = await tool(binDir, "kind");
    const recorded = recordingExec([{ argv: [cached, "get", "clusters"], stdout: "mlkube\n" }]);
    const provider = await selectProvider(settings(), {}, { docker, exec: recorded.exec, spawn: recorded.spawn, env: { PATH: pathDir }, binDir });
    expect(provider.choice).toMatchObject({ kind: "kind", reason: expect.stringMatching(/kind is installed/) });
    expect(await (provider as KindProvider).exists()).toBe(true);
    expect(recorded.calls).toEqual([[cached, "get", "clusters"]]);
  });

  it("runs kind by name when it is on the PATH too", async () => {
    await tool(binDir, "kind");
    await tool(pathDir, "kind");
    const recorded = recordingExec();
    const provider = await selectProvider(settings(), {}, { docker, exec: recorded.exec, env: { PATH: pathDir }, binDir });
    await (provider as KindProvider).exists();
    expect(recorded.calls).toEqual([["kind", "get", "clusters"]]);
  });

  it("without kind anywhere (and no minikube) the error still names the fix", async () => {
    await expect(selectProvider(settings(), {}, { docker, exec: recordingExec().exec, env: { PATH: pathDir }, binDir })).rejects.toThrow(
      /neither kind nor minikube is installed/,
    );
  });
});
