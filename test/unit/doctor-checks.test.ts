// doctor's checks against the conditions a new machine has: no engine, a port someone else holds,
// cluster tools missing. No Docker engine is needed: the engine check runs against a socket that
// does not exist.
import type Dockerode from "dockerode";
import { chmod, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { DEFAULT_REGISTRY } from "../../src/adapters/cluster/local-registry.js";
import { checkContext } from "../../src/adapters/doctor/context.js";
import { checkDocker } from "../../src/adapters/doctor/engine.js";
import { checkPort, nodePortNeed, registryPort } from "../../src/adapters/doctor/ports.js";
import { runChecks } from "../../src/adapters/doctor/run.js";
import { checkTools } from "../../src/adapters/doctor/tools.js";
import { runCommand } from "../../src/adapters/exec.js";
import { doctorExitCode } from "../../src/core/doctor.js";

const NO_ENGINE = { DOCKER_HOST: "unix:///nonexistent/docker.sock" };
let workDir: string;
let emptyPath: string;

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), "mlkube-doctor-"));
  emptyPath = join(workDir, "empty-bin");
  await mkdir(emptyPath);
});
afterAll(async () => {
  await rm(workDir, { recursive: true, force: true });
});

let kubeconfig: string;
beforeEach(async () => {
  // Never the user's kubeconfig.
  kubeconfig = join(workDir, `kubeconfig-${Date.now()}`);
  await writeFile(kubeconfig, "apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n");
  process.env.KUBECONFIG = kubeconfig;
});
afterEach(() => {
  delete process.env.KUBECONFIG;
});

async function fakeTool(dir: string, name: string, output: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, name), `#!/bin/sh\necho '${output}'\n`);
  await chmod(join(dir, name), 0o755);
}

describe("the Docker engine check", () => {
  it("fails with the fix when the engine does not answer", async () => {
    const { check, engine } = await checkDocker(NO_ENGINE, "linux");
    expect(engine).toBeUndefined();
    expect(check).toEqual({
      name: "docker",
      status: "fail",
      detail: "no engine answers at unix:///nonexistent/docker.sock from DOCKER_HOST (ENOENT)",
      fix: "unset DOCKER_HOST   (DOCKER_HOST=unix:///nonexistent/docker.sock; or start the engine it names)",
    });
  });

  it("says why a TCP engine does not answer", async () => {
    const closedPort = await freePort();
    const { check } = await checkDocker({ DOCKER_HOST: `tcp://127.0.0.1:${closedPort}` }, "linux");
    expect(check).toMatchObject({
      status: "fail",
      detail: `no engine answers at tcp://127.0.0.1:${closedPort} from DOCKER_HOST (ECONNREFUSED)`,
      fix: expect.stringMatching(/^unset DOCKER_HOST/),
    });
  });

  it("fails on an unusable DOCKER_HOST with connectDocker's hint", async () => {
    const { check } = await checkDocker({ DOCKER_HOST: "tcp://[bad" }, "linux");
    expect(check).toMatchObject({
      status: "fail",
      detail: "DOCKER_HOST=tcp://[bad is not a valid address (not HOST:PORT).",
      fix: expect.stringContaining("unix:///path/to/docker.sock"),
    });
  });
});

describe("the port checks", () => {
  let holder: Server;
  let takenPort: number;
  beforeAll(async () => {
    holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, "127.0.0.1", resolve));
    takenPort = (holder.address() as { port: number }).port;
  });
  afterAll(async () => {
    await new Promise((resolve) => holder.close(resolve));
  });

  it("fails when another program listens on the port, naming the command that finds it", async () => {
    expect(await checkPort(nodePortNeed(takenPort), [], "linux")).toEqual({
      name: `port ${takenPort}`,
      status: "fail",
      detail: `127.0.0.1:${takenPort}, needed for NodePort ${takenPort}, the model's URL, is taken by another program (EADDRINUSE)`,
      fix: `sudo ss -ltnp 'sport = :${takenPort}'   (shows the program to stop; or set service.nodePort in mlkube.yaml to a free port in 30000-32767)`,
    });
    expect((await checkPort(registryPort("kind-registry", takenPort), undefined, "darwin")).fix).toBe(
      `lsof -nP -iTCP:${takenPort} -sTCP:LISTEN   (shows the program to stop)`,
    );
  });

  it("passes a free port", async () => {
    const port = await freePort();
    expect(await checkPort(registryPort("kind-registry", port), [], "linux")).toMatchObject({
      status: "ok",
      detail: `127.0.0.1:${port} is free (for the local registry)`,
    });
  });

  it("passes a port held by mlkube's own registry or a kind node, and fails one another container holds", async () => {
    const container = (name: string, port: number, labels: Record<string, string> = {}) =>
      ({
        Names: [`/${name}`],
        Labels: labels,
        Ports: [{ IP: "127.0.0.1", PrivatePort: 5000, PublicPort: port, Type: "tcp" }],
      }) as unknown as Dockerode.ContainerInfo;
    const containers = [
      container("kind-registry", takenPort),
      container("mlkube-control-plane", 30080, { "io.x-k8s.kind.cluster": "mlkube" }),
      container("postgres", 30081),
    ];
    expect(await checkPort(registryPort("kind-registry", takenPort), containers, "linux")).toMatchObject({
      status: "ok",
      detail: expect.stringContaining("held by kind-registry"),
    });
    expect(await checkPort(nodePortNeed(30080), containers, "linux")).toMatchObject({
      status: "ok",
      detail: expect.stringContaining("held by mlkube-control-plane"),
    });
    expect(await checkPort(nodePortNeed(30081), containers, "linux")).toMatchObject({
      status: "fail",
      fix: "docker stop postgres   (or set service.nodePort in mlkube.yaml to a free port in 30000-32767)",
    });
    expect(await checkPort(registryPort("kind-registry", 30081), containers, "linux")).toMatchObject({ status: "fail", fix: "docker stop postgres" });
    // Another kind cluster's node: this model's cluster could not be created beside it.
    expect(await checkPort(nodePortNeed(30080, "iris"), containers, "linux")).toMatchObject({
      status: "fail",
      detail: "127.0.0.1:30080, needed for NodePort 30080, the model's URL, is published by container mlkube-control-plane",
      fix: "use kind cluster 'mlkube' (cluster.name: mlkube in mlkube.yaml), or delete it: kind delete cluster --name mlkube",
    });
    expect(await checkPort(nodePortNeed(30080, "mlkube"), containers, "linux")).toMatchObject({ status: "ok" });
  });
});

describe("the cluster tool checks", () => {
  it("warns about each missing binary with the fix that installs it", async () => {
    const { checks, found } = await checkTools({ env: { PATH: emptyPath }, exec: runCommand, binDir: join(workDir, "cache-empty") });
    expect(found).toEqual({ kind: false, minikube: false });
    expect(checks).toEqual([
      {
        name: "kind",
        status: "warn",
        detail: "not installed: mlkube creates local clusters with kind",
        fix: `mlkube doctor --fix   (installs kind v0.30.0 into ${join(workDir, "cache-empty")}, checksum verified; or see https://kind.sigs.k8s.io/docs/user/quick-start/#installation)`,
        autoFix: "install-kind",
      },
      {
        name: "minikube",
        status: "warn",
        detail: "not installed (optional when kind is installed)",
        fix: "install minikube: https://minikube.sigs.k8s.io/docs/start/",
      },
      {
        name: "kubectl",
        status: "warn",
        detail: "not installed: mlkube does not need it, but the fixes it suggests use it",
        fix: "install kubectl: https://kubernetes.io/docs/tasks/tools/",
      },
    ]);
  });

  it("reports versions, and minikube as optional when kind is there", async () => {
    const bin = join(workDir, "bin-with-kind");
    await fakeTool(bin, "kind", "kind v0.30.0 go1.24.6 linux/amd64");
    await fakeTool(bin, "kubectl", '{"clientVersion": {"gitVersion": "v1.34.1"}}');
    const { checks, found } = await checkTools({ env: { PATH: bin }, exec: runCommand, binDir: join(workDir, "cache-empty") });
    expect(found).toEqual({ kind: true, minikube: false });
    expect(checks.map((check) => `${check.status} ${check.name} ${check.detail}`)).toEqual([
      `ok kind v0.30.0 at ${join(bin, "kind")}`,
      "ok minikube not installed (optional: kind is there)",
      `ok kubectl v1.34.1 at ${join(bin, "kubectl")}`,
    ]);
  });

  it("finds the kind that --fix installed and says how to put it on the PATH", async () => {
    const cache = join(workDir, "cache-with-kind");
    await fakeTool(cache, "kind", "kind v0.30.0");
    const { checks } = await checkTools({ env: { PATH: emptyPath }, exec: runCommand, binDir: cache });
    expect(checks[0]).toEqual({
      name: "kind",
      status: "ok",
      detail: `installed by mlkube at ${join(cache, "kind")} (mlkube uses it from there; to run kind yourself: export PATH="${cache}:$PATH")`,
    });
  });
});

describe("the context check", () => {
  it("fails when there is nothing to deploy to: no kind, no minikube, no context", async () => {
    expect(await checkContext({ kind: false, minikube: false })).toMatchObject({
      status: "fail",
      detail: "nothing to run the model on: no kind, no minikube, and no kube context",
      fix: expect.stringMatching(/^mlkube doctor --fix/),
    });
  });

  it("is fine without a context when a cluster tool can create one", async () => {
    expect(await checkContext({ kind: true, minikube: false })).toMatchObject({ status: "ok", detail: expect.stringContaining("'mlkube up' creates") });
  });

  it("warns about a context whose API server does not answer, with the command that restarts it", async () => {
    const port = await freePort();
    await writeFile(
      kubeconfig,
      [
        "apiVersion: v1",
        "kind: Config",
        "current-context: kind-mlkube",
        "clusters: [{name: kind-mlkube, cluster: {server: 'https://127.0.0.1:" + port + "'}}]",
        "contexts: [{name: kind-mlkube, context: {cluster: kind-mlkube, user: kind-mlkube}}]",
        "users: [{name: kind-mlkube, user: {token: x}}]",
      ].join("\n"),
    );
    expect(await checkContext({ kind: true, minikube: false })).toEqual({
      name: "context",
      status: "warn",
      detail: `kind-mlkube does not answer at https://127.0.0.1:${port} (ECONNREFUSED)`,
      fix: "docker start mlkube-control-plane   (or 'mlkube up' if the cluster was deleted)",
    });
    expect(await checkContext({ kind: false, minikube: false })).toMatchObject({
      status: "fail",
      detail: expect.stringMatching(/^nothing to run the model on: .*kind-mlkube does not answer/),
    });
  });
});

describe("all checks", () => {
  it("with the engine stopped and no cluster tools: docker and context fail, what needs the engine is skipped", async () => {
    const checks = await runChecks({
      env: { ...NO_ENGINE, PATH: emptyPath },
      platform: "linux",
      exec: runCommand,
      cwd: workDir,
      binDir: join(workDir, "cache-empty"),
      registry: DEFAULT_REGISTRY,
      settings: undefined,
      inotifyDir: join(workDir, "no-proc"),
    });
    expect(checks.map((check) => `${check.status} ${check.name}`)).toEqual([
      "fail docker",
      "ok disk",
      "warn kind",
      "warn minikube",
      "warn kubectl",
      "fail context",
      "skip registry",
      expect.stringMatching(/^(ok|fail) port 5001$/),
      expect.stringMatching(/^(ok|fail) port 30080$/),
      "warn watch",
      "ok proxy",
    ]);
    expect(checks.find((check) => check.name === "disk")?.detail).toContain("(the current directory)");
    expect(doctorExitCode(checks)).toBe(1);
  });
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
