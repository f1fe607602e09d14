import { execFile } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BASE_IMAGE, REPO_ROOT, copyFixture, engineAvailable, removeRepository, uniqueName } from "../support/engine.js";

const run = promisify(execFile);
const CLI = join(REPO_ROOT, "dist/cli.js");
const hasEngine = await engineAvailable();

/** Runs the built CLI as a user would and returns what they see. */
async function mlkube(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], { env: { ...process.env, ...env } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe.runIf(hasEngine)("mlkube build", () => {
  const repository = uniqueName("mlkube-test-cli");
  let fixture: { dir: string; cleanup: () => Promise<void> };
  beforeAll(async () => {
    fixture = await copyFixture();
    // The image name comes from the configuration: point it at a repository this test owns.
    const config = join(fixture.dir, "mlkube.yaml");
    await writeFile(config, (await readFile(config, "utf8")).replace("name: iris-sklearn", `name: iris-sklearn\nimage:\n  repository: ${repository}`));
  });
  afterAll(async () => {
    await removeRepository(repository);
    await fixture.cleanup();
  });

  it("prints the content-tagged reference, and --json tells whether it was cached", async () => {
    const first = await mlkube(["build", fixture.dir, "--build-arg", `BASE_IMAGE=${BASE_IMAGE}`, "--json"]);
    expect(first.code).toBe(0);
    const result = JSON.parse(first.stdout) as { reference: string; cached: boolean; durationMs: number; builder: string };
    expect(result.reference).toMatch(new RegExp(`^${repository}:[0-9a-f]{16}$`));
    expect(result.cached).toBe(false);
    expect(result.builder).toBe("buildkit");
    expect(result.durationMs).toBeGreaterThan(0);

    const second = await mlkube(["build", fixture.dir, "--build-arg", `BASE_IMAGE=${BASE_IMAGE}`]);
    expect(second.code).toBe(0);
    expect(second.stdout.trim()).toBe(result.reference);
    expect(second.stderr).toContain("unchanged");
  });

  it("takes build arguments from the environment when given as KEY alone, as docker build does", async () => {
    const fromEnv = await mlkube(["build", fixture.dir, "--build-arg", "BASE_IMAGE", "--json"], { BASE_IMAGE });
    expect(fromEnv.code).toBe(0);
    expect(JSON.parse(fromEnv.stdout)).toMatchObject({ cached: true });
  });

  it("exits 1 with the Dockerfile's line when it does not parse", async () => {
    const broken = await copyFixture(fixture.dir);
    try {
      await writeFile(join(broken.dir, "Dockerfile"), "FROM scratch\nCOPPY app.py /\n");
      const result = await mlkube(["build", broken.dir]);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/Dockerfile:2:1 unknown instruction 'COPPY' \(did you mean COPY\?\)/);
      expect(result.stderr).toMatch(/^fix: /m);
    } finally {
      await broken.cleanup();
    }
  });
});

describe("mlkube build without an engine", () => {
  it("exits 1 and says how to start one", async () => {
    const result = await mlkube(["build", join(REPO_ROOT, "fixtures/iris-sklearn")], { DOCKER_HOST: "unix:///nonexistent/docker.sock" });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("Cannot reach the Docker engine at unix:///nonexistent/docker.sock");
    expect(result.stderr).toMatch(/^fix: .*DOCKER_HOST/m);
  });
});
