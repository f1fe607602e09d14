/**
 * The engine the user's `docker` uses, through the built CLI: a HOME whose docker config selects a
 * context (made by the real `docker context create` / `docker context use`, so the store layout is
 * docker's own) pointing at another socket, a relay to the real engine. `mlkube doctor` and
 * `mlkube build` must go there, and say so; with that engine stopped, they must name the context.
 */
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DockerRelay } from "../support/docker-relay.js";
import { BASE_IMAGE, REPO_ROOT, copyFixture, engineAvailable, removeRepository, uniqueName } from "../support/engine.js";

const run = promisify(execFile);
const CLI = join(REPO_ROOT, "dist/cli.js");
const hasEngine = await engineAvailable();

describe.runIf(hasEngine)("a docker context selected in ~/.docker/config.json", () => {
  const repository = uniqueName("mlkube-test-context");
  let root: string;
  let home: string;
  let env: NodeJS.ProcessEnv;
  let relay: DockerRelay;
  let fixture: { dir: string; cleanup: () => Promise<void> };

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "mlkube-context-"));
    home = join(root, "home");
    await mkdir(join(root, "colima"), { recursive: true });
    relay = new DockerRelay(join(root, "colima", "docker.sock"));
    await relay.start();
    const { DOCKER_HOST: _host, DOCKER_CONTEXT: _context, DOCKER_CONFIG: _config, ...rest } = process.env;
    await writeFile(join(root, "kubeconfig"), "apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n");
    env = { ...rest, HOME: home, KUBECONFIG: join(root, "kubeconfig") };
    await run("docker", ["context", "create", "colima", "--docker", `host=${relay.dockerHost}`], { env });
    await run("docker", ["context", "use", "colima"], { env });
    fixture = await copyFixture();
    const config = join(fixture.dir, "mlkube.yaml");
    await writeFile(config, (await readFile(config, "utf8")).replace("name: iris-sklearn", `name: iris-sklearn\nimage:\n  repository: ${repository}`));
  });
  afterAll(async () => {
    await relay.stop();
    await removeRepository(repository);
    await fixture.cleanup();
    await rm(root, { recursive: true, force: true });
  });

  async function mlkube(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    try {
      const { stdout, stderr } = await run(process.execPath, [CLI, ...args], { env, cwd: root });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const failed = error as { code: number; stdout: string; stderr: string };
      return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
    }
  }

  it("doctor shows the context's engine and why it was chosen", async () => {
    const result = await mlkube(["doctor"]);
    const line = result.stdout.split("\n").find((candidate) => /^\w+\s+docker\s/.test(candidate));
    expect(line).toMatch(
      new RegExp(
        `^ok +docker +engine \\S+ at ${relay.dockerHost.replace(/[.]/g, "\\.")} from docker context 'colima' \\(~/\\.docker/config\\.json currentContext\\)$`,
      ),
    );
  });

  it("build goes to that engine", async () => {
    const before = relay.connections;
    const result = await mlkube(["build", fixture.dir, "--build-arg", `BASE_IMAGE=${BASE_IMAGE}`, "--json"]);
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ reference: expect.stringMatching(new RegExp(`^${repository}:`)) });
    expect(relay.connections).toBeGreaterThan(before);
  });

  it("with the context's engine stopped, build and doctor name the context instead of using another engine", async () => {
    await relay.stop();
    try {
      const build = await mlkube(["build", fixture.dir, "--build-arg", `BASE_IMAGE=${BASE_IMAGE}`]);
      expect(build.code).toBe(1);
      expect(build.stderr).toContain(
        `Cannot reach the Docker engine at ${relay.dockerHost} from docker context 'colima' (~/.docker/config.json currentContext): no socket exists at that path.`,
      );
      expect(build.stderr).toMatch(/^fix: Start the engine of docker context 'colima', or switch with 'docker context use NAME'/m);
      const doctor = await mlkube(["doctor"]);
      expect(doctor.code).toBe(1);
      expect(doctor.stdout).toContain(
        `fail docker      no engine answers at ${relay.dockerHost} from docker context 'colima' (~/.docker/config.json currentContext) (ENOENT)`,
      );
      expect(doctor.stdout).toContain(
        "     fix: colima start   (starts the engine of docker context 'colima'; or switch: docker context use NAME; 'docker context ls' lists the contexts)",
      );
    } finally {
      await relay.start();
    }
  });
});
