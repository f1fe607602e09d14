/**
 * The relay that makes the real engine look like Docker Desktop (test/support/docker-desktop-relay.ts),
 * used through the docker CLI exactly as minikube and a user would: `docker info` reads the
 * rewritten facts on a versioned path, and builds, pushes, attach and exec (hijacked streams)
 * still work through it.
 */
import { execFile, spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DockerDesktopRelay } from "../support/docker-desktop-relay.js";
import { BASE_IMAGE, docker, engineAvailable, uniqueName } from "../support/engine.js";

const run = promisify(execFile);
const available = await engineAvailable();

describe.runIf(available)("a Docker API relay that says Docker Desktop", () => {
  let dir: string;
  let relay: DockerDesktopRelay;
  const dockerCli = (args: string[], input?: string) => cli(args, { DOCKER_HOST: relay.dockerHost, DOCKER_CONTEXT: "", DOCKER_BUILDKIT: "0" }, input);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "mlkube-relay-"));
    relay = new DockerDesktopRelay(join(dir, "docker.sock"));
    await relay.start();
  });
  afterAll(async () => {
    await relay.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("answers /info (the CLI asks a versioned path) as Docker Desktop, and only through the relay", async () => {
    expect((await dockerCli(["info", "--format", "{{.OperatingSystem}}"])).trim()).toBe("Docker Desktop");
    expect(relay.infoRequests).toBe(1);
    const direct = await cli(["info", "--format", "{{.OperatingSystem}}"], { DOCKER_HOST: "unix:///var/run/docker.sock" });
    expect(direct.trim()).not.toBe("Docker Desktop");
    // Everything else in the answer is the engine's own.
    const [viaRelay, engine] = [JSON.parse(await dockerCli(["info", "--format", "{{json .}}"])) as { ID: string }, (await docker.info()) as { ID: string }];
    expect(viaRelay.ID).toBe(engine.ID);
  });

  it("adds name=rootless to SecurityOptions when asked", async () => {
    const rootless = new DockerDesktopRelay(join(dir, "rootless.sock"), { rootless: true });
    await rootless.start();
    try {
      const options = JSON.parse(await cli(["info", "--format", "{{json .SecurityOptions}}"], { DOCKER_HOST: rootless.dockerHost })) as string[];
      expect(options).toContain("name=rootless");
    } finally {
      await rootless.stop();
    }
    const plain = JSON.parse(await dockerCli(["info", "--format", "{{json .SecurityOptions}}"])) as string[] | null;
    expect(plain ?? []).not.toContain("name=rootless");
  });

  it("streams a build context and its progress, and a push to the local registry", async () => {
    const context = join(dir, "context");
    await run("mkdir", ["-p", context]);
    const marker = uniqueName("relay");
    await writeFile(join(context, "Dockerfile"), "FROM scratch\nCOPY marker /marker\n");
    await writeFile(join(context, "marker"), marker);
    // The registry scripts/setup-engine.sh runs for the tests (5001 is the kind-registry, there only while a cluster is).
    const tag = `localhost:${process.env.MLKUBE_TEST_REGISTRY_PORT ?? 5002}/mlkube-test/relay:${marker}`;
    try {
      const built = await dockerCli(["build", "-t", tag, context]);
      expect(built).toContain("Successfully tagged");
      const pushed = await dockerCli(["push", tag]);
      expect(pushed).toMatch(/digest: sha256:[0-9a-f]{64}/);
    } finally {
      await docker
        .getImage(tag)
        .remove()
        .catch(() => undefined);
    }
  });

  it("passes attach and exec streams (stdin in, stdout out) both ways", async () => {
    expect(await dockerCli(["run", "--rm", "-i", "--entrypoint", "cat", BASE_IMAGE], "through attach\n")).toBe("through attach\n");
    const name = uniqueName("mlkube-relay");
    await dockerCli(["run", "-d", "--name", name, "--entrypoint", "sleep", BASE_IMAGE, "60"]);
    try {
      expect(await dockerCli(["exec", "-i", name, "cat"], "through exec\n")).toBe("through exec\n");
    } finally {
      await docker.getContainer(name).remove({ force: true });
    }
  });
});

/** The docker CLI with ENV over this process's, optionally with INPUT on stdin; its stdout. */
function cli(args: string[], env: NodeJS.ProcessEnv, input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn("docker", args, { env: { ...process.env, ...env }, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdin.end(input ?? "");
    child.once("error", reject);
    child.once("close", (code) => (code === 0 ? resolve(stdout) : reject(new Error(`docker ${args.join(" ")} exited ${code}: ${stderr}`))));
  });
}
