// `mlkube doctor`, `init`, `test`, and `dev`/`up` on a machine without kind, as a user runs them
// (the built CLI; `npm test` builds first). None of these need the Docker engine: doctor runs
// against an engine socket that does not exist, dev and up against a stand-in that answers /_ping.
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { createServer as createHttpServer } from "node:http";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { kindDownload, KIND_VERSION } from "../../src/adapters/tools/kind-release.js";
import { REPO_ROOT } from "../support/engine.js";
import { startRecordingProxy } from "../support/recording-proxy.js";

const run = promisify(execFile);
const CLI = join(REPO_ROOT, "dist/cli.js");
let workDir: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), "mlkube-onboarding-"));
  await mkdir(join(workDir, "empty-bin"));
  await writeFile(join(workDir, "kubeconfig"), "apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n");
  // A machine with no engine, no cluster tools, no kube context and no proxy.
  env = {
    PATH: join(workDir, "empty-bin"),
    HOME: join(workDir, "home"),
    KUBECONFIG: join(workDir, "kubeconfig"),
    DOCKER_HOST: "unix:///nonexistent/docker.sock",
  };
});
afterAll(async () => {
  await rm(workDir, { recursive: true, force: true });
});

async function mlkube(
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], {
      cwd: options.cwd ?? workDir,
      env: options.env ?? env,
      timeout: options.timeoutMs ?? 0,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe("mlkube doctor", () => {
  it("with the engine stopped and no cluster tools: fails with the fixes, one line per check", async () => {
    const result = await mlkube(["doctor"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe("");
    const lines = result.stdout.split("\n");
    expect(lines).toContain("fail docker      no engine answers at unix:///nonexistent/docker.sock from DOCKER_HOST (ENOENT)");
    expect(lines).toContain("     fix: unset DOCKER_HOST   (DOCKER_HOST=unix:///nonexistent/docker.sock; or start the engine it names)");
    expect(lines).toContain("warn kind        not installed: mlkube creates local clusters with kind");
    expect(lines).toContain(
      `     fix: mlkube doctor --fix   (installs kind v0.30.0 into ${join(workDir, "home", ".mlkube", "bin")}, checksum verified; or see https://kind.sigs.k8s.io/docs/user/quick-start/#installation)`,
    );
    expect(lines).toContain("warn minikube    not installed (optional when kind is installed)");
    expect(lines).toContain("     fix: install minikube: https://minikube.sigs.k8s.io/docs/start/");
    expect(lines).toContain("fail context     nothing to run the model on: no kind, no minikube, and no kube context");
    expect(lines).toContain("skip registry    not checked: the Docker engine does not answer");
    expect(lines.filter((line) => /^(ok|warn|fail|skip) /.test(line)).map((line) => line.split(/\s+/)[1])).toEqual([
      "docker",
      "disk",
      "kind",
      "minikube",
      "kubectl",
      "context",
      "registry",
      "port",
      "port",
      "watch",
      "proxy",
    ]);
    // The port checks depend on this machine (a simulated cluster of a concurrent suite may hold
    // 5001 or 30080); every other failure is the engine's and the context's.
    const failed = lines.filter((line) => line.startsWith("fail ")).map((line) => line.split(/\s+/)[1]);
    expect(failed.filter((name) => name !== "port")).toEqual(["docker", "context"]);
    expect(lines.at(-2)).toMatch(new RegExp(`^\\d+ ok, \\d+ warn, ${failed.length} fail, 1 skipped$`));
  });

  it("prints JSON for scripts", async () => {
    const result = await mlkube(["doctor", "--json"], { env: { ...env, HTTPS_PROXY: "http://proxy.corp:3128" } });
    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout) as { ok: boolean; checks: { name: string; status: string; fix?: string }[] };
    expect(report.ok).toBe(false);
    expect(report.checks.find((check) => check.name === "docker")).toMatchObject({ status: "fail", fix: expect.stringMatching(/^unset DOCKER_HOST/) });
    expect(report.checks.find((check) => check.name === "proxy")).toMatchObject({
      status: "warn",
      fix: 'export NO_PROXY="127.0.0.1,localhost" no_proxy="127.0.0.1,localhost"',
    });
  });

  it("fails the port the model needs when another program holds it", async () => {
    const holder: Server = createServer();
    const port = await listenOnFreeNodePort(holder);
    try {
      const dir = join(workDir, "port-taken");
      await mkdir(dir);
      await writeFile(join(dir, "mlkube.yaml"), `service:\n  nodePort: ${port}\n`);
      const result = await mlkube(["doctor", dir]);
      expect(result.code).toBe(1);
      expect(result.stdout).toContain(
        `fail port ${port}  127.0.0.1:${port}, needed for NodePort ${port}, the model's URL, is taken by another program (EADDRINUSE)\n`,
      );
      expect(result.stdout).toContain(
        `     fix: sudo ss -ltnp 'sport = :${port}'   (shows the program to stop; or set service.nodePort in mlkube.yaml to a free port in 30000-32767)\n`,
      );
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
  });

  it("reports a broken mlkube.yaml as a failed check and still runs the others", async () => {
    const dir = join(workDir, "bad-config");
    await mkdir(dir);
    await writeFile(join(dir, "mlkube.yaml"), "service:\n  nodePort: 80\n");
    const result = await mlkube(["doctor", dir]);
    expect(result.code).toBe(1);
    expect(result.stdout.split("\n")[0]).toMatch(/^fail config +.*mlkube\.yaml has 1 error$/);
    expect(result.stdout).toContain("fail docker");
  });
});

describe("mlkube init", () => {
  it("lists the templates", async () => {
    const result = await mlkube(["init", "--list"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(
      /^sklearn-flask {4}scikit-learn .*service \(default\)\nsklearn-fastapi {2}scikit-learn .*ASGI.*\nsklearn-oip {6}scikit-learn .*Open Inference Protocol.*\n$/,
    );
  });

  it("writes the default template when not asked interactively, then refuses to overwrite it", async () => {
    const dir = join(workDir, "Iris Model");
    const first = await mlkube(["init", dir]);
    expect(first.code).toBe(0);
    expect(first.stdout).toContain("Created 7 files in");
    expect(first.stdout).toContain("from the sklearn-flask template:");
    expect(await readFile(join(dir, "mlkube.yaml"), "utf8")).toContain("name: iris-model\n");

    await writeFile(join(dir, "app.py"), "# my edits\n");
    const before = (await readdir(dir)).sort();
    const second = await mlkube(["init", dir, "--template", "sklearn-fastapi"]);
    expect(second.code).toBe(1);
    expect(second.stdout).toBe("");
    expect(second.stderr).toMatch(/^error: .*Iris Model already has files the sklearn-fastapi template would write; nothing was written\.\n/);
    expect(second.stderr).toContain("\n  app.py\n");
    expect(second.stderr).toContain("fix: Run 'mlkube init NEW-DIR' for a fresh directory, or move those files away first.\n");
    expect((await readdir(dir)).sort()).toEqual(before);
    expect(await readFile(join(dir, "app.py"), "utf8")).toBe("# my edits\n");
  });

  it("names the closest template when the name is misspelled", async () => {
    const result = await mlkube(["init", join(workDir, "typo"), "--template", "sklearn-flsk"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("error: There is no template 'sklearn-flsk'. Did you mean 'sklearn-flask'?");
  });
});

describe("mlkube test", () => {
  it("says when there is nothing to test", async () => {
    const dir = join(workDir, "no-tests");
    await mkdir(dir);
    await writeFile(join(dir, "Dockerfile"), "FROM scratch\nEXPOSE 8080\n");
    const result = await mlkube(["test", dir, "--url", "http://127.0.0.1:9"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("There are no smoke tests to run");
  });

  it("fails clearly when the model does not answer", async () => {
    const dir = join(workDir, "Iris Model");
    const closed = createServer();
    const port = await listenOnFreeNodePort(closed);
    await new Promise((resolve) => closed.close(resolve));
    const result = await mlkube(["test", dir, "--url", `http://127.0.0.1:${port}`]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `error: The model at http://127.0.0.1:${port} does not answer: connection refused.\nfix: Check that the model server runs and listens on that address ('mlkube status' shows the cluster's URLs, 'mlkube logs' the server's output).\n`,
    );
  });
});

describe("mlkube dev and up with Docker but no kind, no minikube, no kube context (issue #13)", () => {
  let modelDir: string;
  let engineEnv: NodeJS.ProcessEnv;
  let binDir: string;
  const engine = createHttpServer((request, response) => (request.url?.endsWith("/_ping") ? response.end("OK") : response.writeHead(404).end("{}")));

  beforeAll(async () => {
    modelDir = join(workDir, "no-kind-model");
    await mkdir(modelDir);
    await writeFile(join(modelDir, "Dockerfile"), "FROM scratch\nEXPOSE 8080\n");
    // Stands in for the engine, which is all this machine has: mlkube only pings it before choosing the cluster.
    const socket = join(workDir, "engine.sock");
    await new Promise<void>((resolve) => engine.listen(socket, resolve));
    engineEnv = { ...env, HOME: join(workDir, "home-no-kind"), DOCKER_HOST: `unix://${socket}` };
    binDir = join(workDir, "home-no-kind", ".mlkube", "bin");
  });
  afterAll(async () => {
    await new Promise((resolve) => engine.close(resolve));
  });

  // Before issue #13 the dev loop started and retried the cluster for ever: the timeout ends that.
  it("dev without a terminal and without --yes fails at once, naming 'mlkube doctor --fix' and --yes; nothing installed", async () => {
    const result = await mlkube(["dev", modelDir], { env: engineEnv, timeoutMs: 30_000 });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toMatch(
      /^error: No local cluster to use: neither kind nor minikube is installed, and the current kube context is not a local cluster\.\n/,
    );
    expect(result.stderr).toMatch(
      /\nfix: Add --yes \('mlkube dev --yes'\) to install it and go on without being asked\. Run 'mlkube doctor --fix': it installs the kind release mlkube pins/,
    );
    await expect(readdir(binDir)).rejects.toThrow(/ENOENT/);
  });

  it("up without a terminal names 'mlkube up --yes'", async () => {
    const result = await mlkube(["up", modelDir], { env: engineEnv, timeoutMs: 30_000 });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("fix: Add --yes ('mlkube up --yes') to install it and go on without being asked. Run 'mlkube doctor --fix'");
  });

  // The download target is the pinned GitHub URL, which this machine cannot reach and mlkube
  // offers no way to change; a local proxy that refuses the tunnel shows the --yes path goes
  // to download it, through HTTPS_PROXY, and that a failed download installs nothing.
  it("dev --yes downloads the pinned kind through HTTPS_PROXY; a refusing proxy is a clear error and nothing is installed", async () => {
    const proxy = await startRecordingProxy();
    try {
      const release = kindDownload();
      if (!release) throw new Error("mlkube pins no kind for this platform: this test needs linux or darwin on x64/arm64");
      const result = await mlkube(["dev", modelDir, "--yes"], { env: { ...engineEnv, HTTPS_PROXY: proxy.url }, timeoutMs: 60_000 });
      expect(result.code).toBe(1);
      expect(result.stderr).toBe(
        `kind is not installed; --yes: downloading kind ${KIND_VERSION} into ${binDir} (checksum verified)\n` +
          `error: Downloading ${release.url} failed: Proxy response (403) !== 200 when HTTP Tunneling.\n` +
          `fix: Check the network and the proxy (in effect: HTTPS_PROXY=${proxy.url}), then try again, or run 'mlkube doctor --fix'.\n`,
      );
      expect(proxy.requests).toEqual(["CONNECT github.com:443"]);
      expect(await readdir(binDir)).toEqual([]);
    } finally {
      await proxy.close();
    }
  });
});

/** Listens on a free port in the NodePort range (so mlkube.yaml accepts it as service.nodePort). */
async function listenOnFreeNodePort(server: Server): Promise<number> {
  for (let port = 31000 + Math.floor(Math.random() * 1000); port < 32767; port++) {
    const listening = await new Promise<boolean>((resolve) => {
      server.once("error", () => resolve(false));
      server.listen(port, "127.0.0.1", () => resolve(true));
    });
    if (listening) return port;
  }
  throw new Error("no free port in the NodePort range");
}
